/**
 * Applying realtime events to the TanStack Query cache: upsert a record by id into every
 * cached list under a key prefix (plain pages and "Load more" pages alike) and into its
 * detail query, without a refetch.
 */
import type { InfiniteData, QueryClient, QueryKey } from '@tanstack/react-query';
import type { Page } from '../api/types';

interface Identified {
  id: string;
  updated_at?: string;
}

type ListData<T> = InfiniteData<Page<T>> | Page<T>;

function isInfinite<T>(data: unknown): data is InfiniteData<Page<T>> {
  return typeof data === 'object' && data !== null && Array.isArray((data as InfiniteData<unknown>).pages);
}

function isPage<T>(data: unknown): data is Page<T> {
  return typeof data === 'object' && data !== null && Array.isArray((data as Page<unknown>).items);
}

/** True unless `incoming` is older than `current` (events can arrive after a newer REST read). */
export function isNotOlder(incoming: { updated_at?: string }, current: { updated_at?: string }): boolean {
  if (!incoming.updated_at || !current.updated_at) return true;
  const a = Date.parse(incoming.updated_at);
  const b = Date.parse(current.updated_at);
  return Number.isNaN(a) || Number.isNaN(b) || a >= b;
}

export interface UpsertOptions<T> {
  /** Whether the record belongs in the list cached under `queryKey` (its filters); default yes. */
  belongs?: (item: T, queryKey: QueryKey) => boolean;
  /** The list's order, to place a record not yet in it; default: first. */
  compare?: (a: T, b: T) => number;
  /** Add records the list does not have yet (e.g. on `*.created`); default true. */
  insert?: boolean;
}

/** The list with `item` put in, replaced, or taken out (when it no longer belongs). */
export function upsertInList<T extends Identified>(
  data: ListData<T> | undefined,
  item: T,
  keep: boolean,
  options: Pick<UpsertOptions<T>, 'compare' | 'insert'> = {},
): ListData<T> | undefined {
  if (!data) return data;
  const pages: Page<T>[] = isInfinite<T>(data) ? data.pages : isPage<T>(data) ? [data] : [];
  if (pages.length === 0 && !isInfinite(data)) return data;
  const found = pages.some((p) => p.items.some((x) => x.id === item.id));
  let next: Page<T>[];
  if (found) {
    next = pages.map((p) => ({
      ...p,
      items: keep
        ? p.items.map((x) => (x.id === item.id && isNotOlder(item, x) ? { ...x, ...item } : x))
        : p.items.filter((x) => x.id !== item.id),
    }));
  } else if (keep && options.insert !== false) {
    next = insertSorted(pages, item, options.compare);
  } else {
    return data;
  }
  return isInfinite<T>(data) ? { ...data, pages: next } : next[0];
}

function insertSorted<T>(pages: Page<T>[], item: T, compare: ((a: T, b: T) => number) | undefined): Page<T>[] {
  if (pages.length === 0) return [{ items: [item], next_cursor: null }];
  for (let pi = 0; pi < pages.length; pi++) {
    const page = pages[pi]!;
    const at = compare ? page.items.findIndex((x) => compare(item, x) < 0) : 0;
    if (at >= 0) {
      const items = [...page.items.slice(0, at), item, ...page.items.slice(at)];
      return pages.map((p, i) => (i === pi ? { ...p, items } : p));
    }
  }
  // It sorts after everything loaded: if more pages exist it will come with them.
  const last = pages[pages.length - 1]!;
  if (last.next_cursor) return pages;
  return pages.map((p, i) => (i === pages.length - 1 ? { ...p, items: [...p.items, item] } : p));
}

/** Upserts `item` into every list cached under `listPrefix`. */
export function upsertIntoLists<T extends Identified>(
  queryClient: QueryClient,
  listPrefix: QueryKey,
  item: T,
  options: UpsertOptions<T> = {},
): void {
  for (const query of queryClient.getQueryCache().findAll({ queryKey: listPrefix })) {
    const keep = options.belongs ? options.belongs(item, query.queryKey) : true;
    queryClient.setQueryData<ListData<T>>(query.queryKey, (data) => upsertInList(data, item, keep, options));
  }
}

/** Merges `fields` into a cached detail record (if it is cached and not newer). */
export function mergeIntoDetail<T extends object>(
  queryClient: QueryClient,
  detailKey: QueryKey,
  fields: Partial<T> & { updated_at?: string },
): void {
  queryClient.setQueryData<T>(detailKey, (old) =>
    old && isNotOlder(fields, old as { updated_at?: string }) ? { ...old, ...fields } : old,
  );
}
