/** A scripted stand-in for the REST API: routes answer with canned responses and every call is recorded. */
export interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

export type Handler = (call: Call) => Response | Promise<Response>;

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

export function problem(status: number, body: Record<string, unknown>): Response {
  return new Response(JSON.stringify({ status, ...body }), {
    status,
    headers: { 'content-type': 'application/problem+json' },
  });
}

export function fakeServer(routes: Record<string, Handler>) {
  const calls: Call[] = [];
  const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = String(input);
    const method = init?.method ?? 'GET';
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    const call: Call = { method, url, headers, body };
    calls.push(call);
    const path = url.split('?')[0];
    const handler = routes[`${method} ${path}`];
    if (!handler) return problem(404, { title: 'Not Found' });
    return handler(call);
  };
  return {
    fetch: fetchImpl as typeof fetch,
    calls,
    callsTo: (method: string, path: string) => calls.filter((c) => c.method === method && c.url.split('?')[0] === path),
  };
}

export function memoryStorage(initial: Record<string, string> = {}) {
  const m = new Map(Object.entries(initial));
  return {
    map: m,
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
  };
}

let counter = 0;
export function tokens(role: 'admin' | 'staff' | 'patient' = 'staff', expiresIn = 900, idleTimeoutSecs = 3600) {
  counter++;
  return {
    access_token: `access-${counter}`,
    refresh_token: `refresh-${counter}`,
    expires_in: expiresIn,
    token_type: 'Bearer',
    idle_timeout_secs: idleTimeoutSecs,
    user: {
      id: `user-${role}`,
      tenant_id: 'tenant-1',
      role,
      email: `${role}@harbour-physio.test`,
      name: `Demo ${role}`,
    },
  };
}
