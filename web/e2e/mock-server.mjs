// An in-memory stand-in for the qivr server, for running the browser tests and `vite` without
// the Rust backend. It implements only the slice of the REST contract the web apps use today,
// with the demo logins of DESIGN.md §9, and serves the built apps like the real server does.
// Not a reference: the Rust API is. Usage: node e2e/mock-server.mjs [port]  (env MOCK_EXPIRES_IN)
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const webDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const apps = { clinic: join(webDir, 'clinic-dashboard/dist'), portal: join(webDir, 'patient-portal/dist') };
const PASSWORD = 'qivr-demo-password';
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json', '.map': 'application/json' };

export function createMockServer({ expiresIn = Number(process.env.MOCK_EXPIRES_IN ?? 900) } = {}) {
  const tenants = [];
  const users = [];
  const patients = [];
  const conditions = [];
  const sessions = new Map(); // access token -> { user, exp }
  const refreshTokens = new Map(); // refresh token -> user
  const now = () => new Date().toISOString();

  for (const [slug, name] of [['harbour-physio', 'Harbour Physio'], ['summit-health', 'Summit Health']]) {
    const tenant = { id: randomUUID(), slug, name };
    tenants.push(tenant);
    for (const [local, role, display] of [['admin', 'admin', 'Ada Admin'], ['staff', 'staff', 'Sam Staff'], ['staff2', 'staff', 'Sky Staff']]) {
      users.push({ id: randomUUID(), tenant_id: tenant.id, role, email: `${local}@${slug}.test`, name: display });
    }
    // More than one page (25) of patients, so "Load more" has something to load.
    const firsts = ['Pat', 'Robin', 'Alex', 'Jamie', 'Morgan', 'Casey', 'Jordan', 'Riley', ...Array.from({ length: 24 }, (_, i) => `Extra${i + 1}`)];
    for (let i = 0; i < firsts.length; i++) {
      let user_id = null;
      if (i < 5) {
        const u = { id: randomUUID(), tenant_id: tenant.id, role: 'patient', email: `patient${i + 1}@${slug}.test`, name: `${firsts[i]} Example${i + 1}` };
        users.push(u);
        user_id = u.id;
      }
      patients.push({
        id: randomUUID(), tenant_id: tenant.id, first_name: firsts[i], last_name: `Example${i + 1}`,
        date_of_birth: `19${50 + i}-0${(i % 9) + 1}-1${i % 10}`, sex: null, email: user_id ? `patient${i + 1}@${slug}.test` : null,
        phone: `+61 400 000 00${i}`, address: null, medical_history: null, medications: null, allergies: null,
        user_id, created_at: now(), updated_at: now(),
      });
    }
  }

  const pub = (u) => ({ id: u.id, tenant_id: u.tenant_id, role: u.role, email: u.email, name: u.name });
  const pubPatient = ({ tenant_id: _t, ...p }) => p;
  function issue(user) {
    const access_token = `at-${randomUUID()}`;
    const refresh_token = `rt-${randomUUID()}`;
    sessions.set(access_token, { user, exp: Date.now() + expiresIn * 1000 });
    refreshTokens.set(refresh_token, user);
    return { access_token, refresh_token, expires_in: expiresIn, user: pub(user) };
  }
  const send = (res, status, body, type = 'application/json') => {
    res.writeHead(status, { 'content-type': type });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };
  const problem = (res, status, title, detail, errors) =>
    send(res, status, { type: 'about:blank', title, status, ...(detail ? { detail } : {}), ...(errors ? { errors } : {}) }, 'application/problem+json');
  const page = (items, url) => {
    const limit = Math.min(Number(url.searchParams.get('limit') ?? 25) || 25, 100);
    const start = Number(url.searchParams.get('cursor') ?? 0) || 0;
    const slice = items.slice(start, start + limit);
    return { items: slice, next_cursor: start + limit < items.length ? String(start + limit) : null };
  };
  const isDate = (s) => typeof s === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s));

  async function api(req, res, url) {
    const path = url.pathname.slice('/api/v1'.length);
    let body = {};
    if (req.method === 'POST' || req.method === 'PATCH') {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      try { body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {}; } catch { return problem(res, 400, 'Bad Request', 'Body is not JSON.'); }
    }
    if (req.method === 'POST' && path === '/auth/login') {
      const tenant = tenants.find((t) => t.slug === body.tenant);
      const user = tenant && users.find((u) => u.tenant_id === tenant.id && u.email === String(body.email).toLowerCase());
      if (!user || body.password !== PASSWORD) return problem(res, 401, 'Unauthorized', 'Invalid tenant, email or password.');
      return send(res, 200, issue(user));
    }
    if (req.method === 'POST' && path === '/auth/refresh') {
      const user = refreshTokens.get(body.refresh_token);
      if (!user) return problem(res, 401, 'Unauthorized', 'Refresh token is not valid.');
      refreshTokens.delete(body.refresh_token);
      return send(res, 200, issue(user));
    }
    if (req.method === 'POST' && path === '/auth/logout') {
      refreshTokens.delete(body.refresh_token);
      res.writeHead(204).end();
      return;
    }
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const session = sessions.get(token);
    if (!session || session.exp < Date.now()) return problem(res, 401, 'Unauthorized', 'Missing or expired access token.');
    const me = session.user;
    const staff = me.role !== 'patient';
    const mine = (p) => p.tenant_id === me.tenant_id;

    if (req.method === 'GET' && path === '/me') return send(res, 200, { ...pub(me), tenant: tenants.find((t) => t.id === me.tenant_id) });
    if (path === '/patients/me' && req.method === 'GET') {
      const p = patients.find((x) => mine(x) && x.user_id === me.id);
      return p ? send(res, 200, pubPatient(p)) : problem(res, 404, 'Not Found');
    }
    if (path === '/patients') {
      if (!staff) return problem(res, 403, 'Forbidden', 'Patients cannot list patients.');
      if (req.method === 'GET') {
        const q = (url.searchParams.get('q') ?? '').toLowerCase();
        const list = patients
          .filter((p) => mine(p) && (!q || `${p.first_name} ${p.last_name} ${p.email ?? ''} ${p.phone ?? ''}`.toLowerCase().includes(q)))
          .sort((a, b) => a.last_name.localeCompare(b.last_name));
        return send(res, 200, page(list.map(pubPatient), url));
      }
      if (req.method === 'POST') {
        const errors = [];
        if (!body.first_name?.trim()) errors.push({ field: 'first_name', message: 'is required' });
        if (!body.last_name?.trim()) errors.push({ field: 'last_name', message: 'is required' });
        if (!isDate(body.date_of_birth)) errors.push({ field: 'date_of_birth', message: 'must be a date (YYYY-MM-DD)' });
        if (body.email && !/^[^@\s]+@[^@\s]+$/.test(body.email)) errors.push({ field: 'email', message: 'is not an email address' });
        if (errors.length) return problem(res, 422, 'Unprocessable Entity', 'Some fields are not valid.', errors);
        const p = { id: randomUUID(), tenant_id: me.tenant_id, first_name: body.first_name.trim(), last_name: body.last_name.trim(), date_of_birth: body.date_of_birth, sex: null, email: body.email ?? null, phone: body.phone ?? null, address: null, medical_history: null, medications: null, allergies: null, user_id: null, created_at: now(), updated_at: now() };
        patients.push(p);
        return send(res, 201, pubPatient(p));
      }
    }
    const m = /^\/patients\/([^/]+)(?:\/conditions(?:\/([^/]+))?)?$/.exec(path);
    if (m) {
      const p = patients.find((x) => x.id === m[1] && mine(x));
      if (!p || (!staff && p.user_id !== me.id)) return problem(res, 404, 'Not Found');
      const isConditions = path.includes('/conditions');
      if (!isConditions) {
        if (req.method === 'GET') return send(res, 200, pubPatient(p));
        if (req.method === 'PATCH') {
          const allowed = staff
            ? ['first_name', 'last_name', 'date_of_birth', 'sex', 'email', 'phone', 'address', 'medical_history', 'medications', 'allergies']
            : ['phone', 'email', 'address'];
          const bad = Object.keys(body).filter((k) => !allowed.includes(k));
          if (bad.length) return problem(res, 403, 'Forbidden', `You may not change ${bad.join(', ')}.`);
          if ('date_of_birth' in body && !isDate(body.date_of_birth)) return problem(res, 422, 'Unprocessable Entity', undefined, [{ field: 'date_of_birth', message: 'must be a date (YYYY-MM-DD)' }]);
          Object.assign(p, body, { updated_at: now() });
          return send(res, 200, pubPatient(p));
        }
        if (req.method === 'DELETE' && staff) { patients.splice(patients.indexOf(p), 1); res.writeHead(204).end(); return; }
      }
      if (!staff) return problem(res, 403, 'Forbidden');
      if (!m[2] && req.method === 'GET') return send(res, 200, page(conditions.filter((c) => c.patient_id === p.id), url));
      if (!m[2] && req.method === 'POST') {
        if (!body.name?.trim()) return problem(res, 422, 'Unprocessable Entity', 'Some fields are not valid.', [{ field: 'name', message: 'is required' }]);
        const c = { id: randomUUID(), patient_id: p.id, name: body.name.trim(), status: body.status ?? 'active', onset_date: body.onset_date ?? null, resolved_date: null, notes: body.notes ?? null, created_at: now(), updated_at: now() };
        conditions.push(c);
        return send(res, 201, c);
      }
      const c = m[2] && conditions.find((x) => x.id === m[2] && x.patient_id === p.id);
      if (c && req.method === 'PATCH') { Object.assign(c, body, { updated_at: now() }); return send(res, 200, c); }
    }
    return problem(res, 404, 'Not Found');
  }

  async function serveApp(res, root, rel) {
    const file = normalize(join(root, rel));
    if (file.startsWith(root)) {
      try {
        if ((await stat(file)).isFile()) {
          res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
          return res.end(await readFile(file));
        }
      } catch { /* fall back to the SPA entry */ }
    }
    try {
      const html = await readFile(join(root, 'index.html'));
      res.writeHead(200, { 'content-type': types['.html'] });
      res.end(html);
    } catch {
      send(res, 503, 'App not built: run `npm run build` in web/.', 'text/plain');
    }
  }

  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/api/v1/')) return void api(req, res, url).catch((e) => { console.error(e); problem(res, 500, 'Internal Server Error'); });
    if (url.pathname === '/healthz') return send(res, 200, { status: 'ok' });
    for (const [name, root] of Object.entries(apps)) {
      if (url.pathname === `/${name}`) { res.writeHead(308, { location: `/${name}/` }); return res.end(); }
      if (url.pathname.startsWith(`/${name}/`)) return void serveApp(res, root, decodeURIComponent(url.pathname.slice(name.length + 2)));
    }
    problem(res, 404, 'Not Found');
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] ?? 8080);
  createMockServer().listen(port, '127.0.0.1', () => console.log(`mock qivr on http://127.0.0.1:${port}`));
}
