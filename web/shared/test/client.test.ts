import { describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../src/api/client';
import { ApiError, formErrorMessage, problemFromResponse } from '../src/api/errors';
import { fakeServer, json, problem } from './fakeServer';

describe('problem+json parsing', () => {
  it('turns a validation problem into per-field messages', async () => {
    const res = problem(422, {
      type: 'https://qivr.dev/problems/validation',
      title: 'Invalid input',
      detail: 'Some fields are not valid.',
      errors: [
        { field: 'date_of_birth', message: 'must be a date in the past' },
        { field: 'email', message: 'is not an email address' },
        { field: 'email', message: 'a second message is ignored' },
      ],
    });
    const err = await problemFromResponse(res);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(422);
    expect(err.type).toBe('https://qivr.dev/problems/validation');
    expect(err.title).toBe('Invalid input');
    expect(err.userMessage).toBe('Some fields are not valid.');
    expect(err.fieldErrors).toEqual({
      date_of_birth: 'must be a date in the past',
      email: 'is not an email address',
    });
    expect(err.fieldError('email')).toBe('is not an email address');
    expect(err.errors).toHaveLength(3);
  });

  it('copes with an error body that is not JSON', async () => {
    const res = new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' });
    const err = await problemFromResponse(res);
    expect(err.status).toBe(502);
    expect(err.title).toBe('Bad Gateway');
    expect(err.fieldErrors).toEqual({});
    expect(err.userMessage).toBe('Bad Gateway');
  });

  it('ignores malformed entries in errors', async () => {
    const res = problem(400, { title: 'Bad Request', errors: [{ field: 'x' }, 'nope', { field: 'y', message: 'bad' }] });
    const err = await problemFromResponse(res);
    expect(err.fieldErrors).toEqual({ y: 'bad' });
  });
});

describe('ApiClient', () => {
  it('sends the bearer token, JSON body and query string under /api/v1', async () => {
    const server = fakeServer({ 'POST /api/v1/patients': () => json({ id: 'p1' }, 201) });
    const client = new ApiClient({ fetch: server.fetch, getAccessToken: () => 'tok' });
    const created = await client.post<{ id: string }>('/patients', { first_name: 'A' }, { query: { q: 'x', cursor: undefined, limit: 5, empty: '' } });
    expect(created).toEqual({ id: 'p1' });
    const [call] = server.calls;
    expect(call?.url).toBe('/api/v1/patients?q=x&limit=5');
    expect(call?.headers['Authorization']).toBe('Bearer tok');
    expect(call?.headers['Content-Type']).toBe('application/json');
    expect(call?.body).toEqual({ first_name: 'A' });
  });

  it('resolves a 204 to undefined', async () => {
    const server = fakeServer({ 'POST /api/v1/auth/logout': () => new Response(null, { status: 204 }) });
    const client = new ApiClient({ fetch: server.fetch });
    await expect(client.post('/auth/logout', { refresh_token: 'r' }, { auth: false })).resolves.toBeUndefined();
    expect(server.calls[0]?.headers['Authorization']).toBeUndefined();
  });

  it('rejects with a typed ApiError carrying the field errors', async () => {
    const server = fakeServer({
      'POST /api/v1/patients': () =>
        problem(422, { title: 'Invalid input', errors: [{ field: 'last_name', message: 'is required' }] }),
    });
    const client = new ApiClient({ fetch: server.fetch });
    const err = await client.post('/patients', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).fieldError('last_name')).toBe('is required');
  });

  it('reports a network failure as status 0', async () => {
    const client = new ApiClient({
      fetch: () => Promise.reject(new TypeError('fetch failed')),
    });
    const err = (await client.get('/me').catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(0);
    expect(err.title).toBe('Network error');
  });

  it('refreshes once on a 401 and retries with the new token', async () => {
    let token = 'old';
    const server = fakeServer({
      'GET /api/v1/me': (c) =>
        c.headers['Authorization'] === 'Bearer new' ? json({ id: 'u' }) : problem(401, { title: 'Unauthorized' }),
    });
    const onUnauthorized = vi.fn(async () => {
      token = 'new';
      return true;
    });
    const client = new ApiClient({ fetch: server.fetch, getAccessToken: () => token, onUnauthorized });
    await expect(client.get('/me')).resolves.toEqual({ id: 'u' });
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    expect(onUnauthorized).toHaveBeenCalledWith('old');
    expect(server.calls.map((c) => c.headers['Authorization'])).toEqual(['Bearer old', 'Bearer new']);
  });

  it('does not loop when the retried request is rejected again', async () => {
    const server = fakeServer({ 'GET /api/v1/me': () => problem(401, { title: 'Unauthorized' }) });
    const onUnauthorized = vi.fn(async () => true);
    const client = new ApiClient({ fetch: server.fetch, getAccessToken: () => 't', onUnauthorized });
    const err = (await client.get('/me').catch((e: unknown) => e)) as ApiError;
    expect(err.status).toBe(401);
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    expect(server.calls).toHaveLength(2);
  });

  it('gives up without retrying when the refresh fails', async () => {
    const server = fakeServer({ 'GET /api/v1/me': () => problem(401, { title: 'Unauthorized' }) });
    const client = new ApiClient({ fetch: server.fetch, getAccessToken: () => 't', onUnauthorized: async () => false });
    const err = (await client.get('/me').catch((e: unknown) => e)) as ApiError;
    expect(err.status).toBe(401);
    expect(server.calls).toHaveLength(1);
  });
});

describe('formErrorMessage', () => {
  it('summarises when every named field is in the form, else shows the detail', () => {
    const err = new ApiError(422, { detail: 'email: is not an email address', errors: [{ field: 'email', message: 'is not an email address' }] });
    expect(formErrorMessage(err, ['email', 'phone'])).toBe('Please correct the fields marked below.');
    expect(formErrorMessage(err, ['phone'])).toBe('email: is not an email address');
    expect(formErrorMessage(new ApiError(409, { title: 'Conflict', detail: 'Already exists' }), ['email'])).toBe('Already exists');
  });
});
