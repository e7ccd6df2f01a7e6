/**
 * `@qivr/shared`: what both web apps share.
 *
 * - `api/`: the REST contract's types, the fetch client and typed endpoint calls, `ApiError`.
 * - `auth/`: the session store (login, silent refresh, logout, idle logoff, role gate).
 * - `components/`: the login page and form fields.
 * - `realtime/`: reserved for the WebSocket client (a later issue).
 */
export * from './api/types';
export { ApiError, isApiError, errorMessage, formErrorMessage, problemFromResponse } from './api/errors';
export { ApiClient, type ApiClientOptions, type RequestOptions, type QueryValue } from './api/client';
export { createQivrApi, type QivrApi } from './api/endpoints';
export {
  createAuth,
  refreshLeadMs,
  RoleRefusedError,
  DEFAULT_IDLE_MINUTES,
  INACTIVITY_NOTICE,
  EXPIRED_NOTICE,
  type Auth,
  type AuthConfig,
  type AuthState,
  type AuthStatus,
  type SignedOutReason,
  type MinimalStorage,
} from './auth/session';
export { startIdleTimer, DEFAULT_ACTIVITY_EVENTS, type IdleTimer, type IdleTimerOptions } from './auth/idle';
export { useAuthState } from './auth/react';
export { LoginPage, type LoginPageProps } from './components/LoginPage';
export { TextField, TextAreaField, type TextFieldProps, type TextAreaFieldProps } from './components/Field';
export { emptyToNull, changedFields, todayIso, formatDate } from './forms';
