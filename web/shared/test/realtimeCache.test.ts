import { describe, expect, it } from 'vitest';
import { QueryClient, type InfiniteData } from '@tanstack/react-query';
import type { Page } from '../src/api/types';
import { mergeIntoDetail, upsertInList, upsertIntoLists } from '../src/realtime/cache';

interface Row {
  id: string;
  status: string;
  created_at: string;
  updated_at: string;
}
const row = (id: string, status = 'pending', created = '2026-01-01T00:00:0' + id + 'Z', updated = created): Row => ({
  id,
  status,
  created_at: created,
  updated_at: updated,
});
const newestFirst = (a: Row, b: Row) => b.created_at.localeCompare(a.created_at);

describe('upsertInList', () => {
  it('replaces a row in place, unless the event is older than what is cached', () => {
    const page: Page<Row> = { items: [row('2'), row('1')], next_cursor: null };
    const newer = { ...row('1', 'in_review'), updated_at: '2026-01-02T00:00:00Z' };
    expect(upsertInList(page, newer, true)).toEqual({ items: [row('2'), newer], next_cursor: null });
    const older = { ...row('1', 'closed'), updated_at: '2025-12-31T00:00:00Z' };
    expect(upsertInList(page, older, true)).toEqual(page);
  });

  it('inserts a new row in order into "Load more" pages and removes rows that no longer belong', () => {
    const data: InfiniteData<Page<Row>> = {
      pages: [{ items: [row('5'), row('3')], next_cursor: 'c' }],
      pageParams: [undefined],
    };
    const inserted = upsertInList(data, row('4'), true, { compare: newestFirst }) as InfiniteData<Page<Row>>;
    expect(inserted.pages[0]!.items.map((r) => r.id)).toEqual(['5', '4', '3']);
    // Older than everything loaded while more pages exist: it comes with "Load more".
    expect(upsertInList(data, row('1'), true, { compare: newestFirst })).toEqual(data);
    const removed = upsertInList(data, row('3', 'closed'), false) as InfiniteData<Page<Row>>;
    expect(removed.pages[0]!.items.map((r) => r.id)).toEqual(['5']);
  });
});

describe('upsertIntoLists and mergeIntoDetail', () => {
  it('update every cached list under a prefix by its filters, and the detail', () => {
    const qc = new QueryClient();
    qc.setQueryData(['rows', 'list', { status: 'pending' }], { items: [row('1')], next_cursor: null });
    qc.setQueryData(['rows', 'list', { status: 'in_review' }], { items: [], next_cursor: null });
    qc.setQueryData(['rows', 'detail', '1'], { ...row('1'), extra: 'kept' });
    const changed = { ...row('1', 'in_review'), updated_at: '2026-02-01T00:00:00Z' };
    upsertIntoLists<Row>(qc, ['rows', 'list'], changed, {
      belongs: (item, key) => (key[2] as { status: string }).status === item.status,
    });
    mergeIntoDetail(qc, ['rows', 'detail', '1'], changed);
    expect(qc.getQueryData(['rows', 'list', { status: 'pending' }])).toEqual({ items: [], next_cursor: null });
    expect(qc.getQueryData(['rows', 'list', { status: 'in_review' }])).toEqual({ items: [changed], next_cursor: null });
    expect(qc.getQueryData(['rows', 'detail', '1'])).toEqual({ ...changed, extra: 'kept' });
  });
});
