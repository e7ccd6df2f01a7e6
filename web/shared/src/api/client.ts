import { ApiError, problemFromResponse } from './errors';

export type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions {
  query?: Record<string, QueryValue> | undefined;
  /** Sent as JSON. */
  body?: unknown;
  /** Send the current access token (default true). */
  auth?: boolean | undefined;
  /** Use this bearer token instead of the current one (logout after the session is cleared). */
  token?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface ApiClientOptions {
  /** Prefix for every path; default `/api/v1` (same origin, so the Vite proxy and the server agree). */
  basePath?: string;
  fetch?: typeof fetch;
  /** The access token to send, or null when signed out. */
  getAccessToken?: () => string | null;
  /**
   * Called when an authenticated request is answered 401. Resolve true when a fresh access
   * token is available: the request is then retried once with it. `usedToken` is the token the
   * failed request carried, so a refresh that already happened meanwhile is not repeated.
   */
  onUnauthorized?: (usedToken: string | null) => Promise<boolean>;
}

/**
 * The one HTTP client both apps use: JSON in and out, bearer auth, problem+json errors as
 * `ApiError`, and one retry after a silent refresh when the access token was rejected.
 */
export class ApiClient {
  readonly basePath: string;
  private readonly fetchImpl: typeof fetch;
  private readonly getAccessToken: () => string | null;
  private readonly onUnauthorized: ((usedToken: string | null) => Promise<boolean>) | undefined;

  constructor(options: ApiClientOptions = {}) {
    this.basePath = (options.basePath ?? '/api/v1').replace(/\/$/, '');
    const f = options.fetch;
    // Call the global fetch unbound: browsers throw "Illegal invocation" on a detached `this`.
    this.fetchImpl = f ?? ((input, init) => fetch(input, init));
    this.getAccessToken = options.getAccessToken ?? (() => null);
    this.onUnauthorized = options.onUnauthorized;
  }

  url(path: string, query?: Record<string, QueryValue>): string {
    let url = this.basePath + (path.startsWith('/') ? path : `/${path}`);
    if (query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) {
        if (v === undefined || v === null || v === '') continue;
        params.set(k, String(v));
      }
      const qs = params.toString();
      if (qs) url += `?${qs}`;
    }
    return url;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const useAuth = options.auth !== false;
    let token = options.token ?? (useAuth ? this.getAccessToken() : null);
    let res = await this.send(method, path, options, token);
    if (res.status === 401 && useAuth && options.token === undefined && this.onUnauthorized) {
      const refreshed = await this.onUnauthorized(token);
      if (refreshed) {
        token = this.getAccessToken();
        res = await this.send(method, path, options, token);
      }
    }
    if (!res.ok) throw await problemFromResponse(res);
    if (res.status === 204 || res.status === 205) return undefined as T;
    const text = await res.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(res.status, { title: 'Invalid response', detail: 'The server sent a response that is not JSON.' });
    }
  }

  get<T>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>('GET', path, options);
  }
  post<T>(path: string, body?: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>('POST', path, { ...options, body });
  }
  patch<T>(path: string, body?: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>('PATCH', path, { ...options, body });
  }
  put<T>(path: string, body?: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>('PUT', path, { ...options, body });
  }
  delete<T = void>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>('DELETE', path, options);
  }

  /**
   * Uploads `form` (multipart) with progress, which `fetch` cannot report: XMLHttpRequest with
   * the same bearer auth, problem+json errors and one retry after a silent refresh.
   */
  async upload<T>(path: string, form: FormData, onProgress?: (fraction: number) => void): Promise<T> {
    let token = this.getAccessToken();
    let res = await this.xhrUpload(path, form, token, onProgress);
    if (res.status === 401 && this.onUnauthorized && (await this.onUnauthorized(token))) {
      token = this.getAccessToken();
      res = await this.xhrUpload(path, form, token, onProgress);
    }
    if (!res.ok) throw await problemFromResponse(res);
    return (await res.json()) as T;
  }

  private xhrUpload(path: string, form: FormData, token: string | null, onProgress?: (fraction: number) => void): Promise<Response> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', this.url(path));
      xhr.setRequestHeader('Accept', 'application/json, application/problem+json');
      if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total);
      };
      xhr.onload = () =>
        resolve(new Response(xhr.responseText, { status: xhr.status, headers: { 'content-type': xhr.getResponseHeader('content-type') ?? '' } }));
      xhr.onerror = () =>
        reject(new ApiError(0, { title: 'Network error', detail: 'Could not reach the Qivr server. Check your connection and try again.' }));
      xhr.send(form);
    });
  }

  /** Fetches a file (e.g. a document's content) as a Blob, with the usual auth and errors. */
  async blob(path: string): Promise<Blob> {
    let token = this.getAccessToken();
    let res = await this.send('GET', path, {}, token);
    if (res.status === 401 && this.onUnauthorized && (await this.onUnauthorized(token))) {
      token = this.getAccessToken();
      res = await this.send('GET', path, {}, token);
    }
    if (!res.ok) throw await problemFromResponse(res);
    return res.blob();
  }

  private async send(method: string, path: string, options: RequestOptions, token: string | null): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json, application/problem+json' };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers['Authorization'] = `Bearer ${token}`;
    const init: RequestInit = { method, headers, credentials: 'same-origin' };
    if (options.body !== undefined) init.body = JSON.stringify(options.body);
    if (options.signal) init.signal = options.signal;
    try {
      return await this.fetchImpl(this.url(path, options.query), init);
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') throw e;
      throw new ApiError(0, {
        title: 'Network error',
        detail: 'Could not reach the Qivr server. Check your connection and try again.',
      });
    }
  }
}
