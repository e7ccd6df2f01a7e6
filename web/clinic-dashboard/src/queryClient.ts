import { QueryClient, type InfiniteData } from '@tanstack/react-query';
import { ApiError, type AuditQuery, type EmailListQuery, type Page } from '@qivr/shared';
import type { QueueFilters } from './evaluationFilters';

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 30_000,
      refetchOnWindowFocus: false,
      // A 4xx will not change by asking again; network trouble and 5xx might.
      retry: (count, error) => !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
    },
  },
});

/** Query keys, in one place so mutations invalidate exactly what they change. */
export const keys = {
  patients: ['patients'] as const,
  patientList: (q: string) => ['patients', 'list', q] as const,
  patient: (id: string) => ['patients', 'detail', id] as const,
  conditions: (id: string) => ['patients', 'detail', id, 'conditions'] as const,
  users: ['users'] as const,
  userList: ['users', 'list'] as const,
  userOptions: ['users', 'options'] as const,
  audit: ['audit'] as const,
  auditList: (q: AuditQuery) => ['audit', 'list', q] as const,
  auditChain: ['audit', 'verify'] as const,
  identityProviders: ['identity-providers'] as const,
  mailboxList: (q: EmailListQuery) => ['mailbox', 'list', q] as const,
  mailboxEmail: (id: string) => ['mailbox', 'detail', id] as const,
  evaluations: ['evaluations'] as const,
  evaluationLists: ['evaluations', 'list'] as const,
  evaluationList: (f: QueueFilters) => ['evaluations', 'list', f] as const,
  evaluation: (id: string) => ['evaluations', 'detail', id] as const,
};

/** Puts an updated record in place in a cached "Load more" list, keeping its position. */
export function replaceInPages<T extends { id: string }>(
  data: InfiniteData<Page<T>> | undefined,
  updated: T,
): InfiniteData<Page<T>> | undefined {
  if (!data) return data;
  return {
    ...data,
    pages: data.pages.map((p) => ({ ...p, items: p.items.map((item) => (item.id === updated.id ? updated : item)) })),
  };
}
