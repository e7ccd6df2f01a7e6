import { QueryClient } from '@tanstack/react-query';
import { ApiError } from '@qivr/shared';

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 30_000,
      refetchOnWindowFocus: false,
      retry: (count, error) => !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
    },
  },
});

export const keys = {
  myRecord: ['patients', 'me'] as const,
  intakes: ['intakes'] as const,
  proms: ['proms'] as const,
  prom: (id: string) => ['proms', id] as const,
};
