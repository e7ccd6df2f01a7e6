import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClientProvider } from '@tanstack/react-query';
import { BrowserRouter } from 'react-router';
import { RealtimeProvider } from '@qivr/shared';
import '@qivr/shared/styles.css';
import { App } from './App';
import { auth } from './session';
import { queryClient } from './queryClient';
import { realtime } from './realtime';

// Whatever one user loaded must never be shown to the next one in this tab.
let lastUserId = auth.store.getState().user?.id ?? null;
auth.store.subscribe((s) => {
  const id = s.user?.id ?? null;
  if (id !== lastUserId) {
    lastUserId = id;
    queryClient.clear();
  }
});

void auth.restore();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RealtimeProvider client={realtime}>
        <BrowserRouter basename="/clinic">
          <App />
        </BrowserRouter>
      </RealtimeProvider>
    </QueryClientProvider>
  </StrictMode>,
);
