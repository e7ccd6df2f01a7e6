import { QueryClient } from '@tanstack/react-query';
import { ApiError } from '@qivr/shared';

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
};
