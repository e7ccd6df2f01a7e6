import { useStore } from 'zustand';
import type { Auth, AuthState } from './session';

/** Subscribes a component to the session store. */
export function useAuthState<T>(auth: Auth, selector: (s: AuthState) => T): T {
  return useStore(auth.store, selector);
}
