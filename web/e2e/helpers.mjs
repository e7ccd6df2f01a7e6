// Shared set-up for the browser tests: Debian's Chromium driven by playwright-core (no browser
// download), the server under test at $QIVR_URL, and the demo logins of DESIGN.md §9.
import { chromium } from 'playwright-core';

export const baseUrl = (process.env.QIVR_URL ?? '').replace(/\/$/, '');

/** The server is started by the repo's test script, not here: without one the tests fail, loudly. */
export function requireServer() {
  if (!baseUrl) {
    throw new Error(
      'QIVR_URL is not set: the browser tests need a running qivr server with the demo data ' +
        '(e.g. QIVR_URL=http://127.0.0.1:8080 npm run e2e); scripts/test.sh starts one.',
    );
  }
}
export const PASSWORD = 'qivr-demo-password';
export const TENANT = 'harbour-physio';

export function launchBrowser() {
  requireServer();
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** A fresh browser context (its own sessionStorage) and page. */
export async function newPage(browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

/** Opens `/<app>/` and signs in through the login form. */
export async function signIn(page, app, email, { tenant = TENANT, password = PASSWORD } = {}) {
  await page.goto(`${baseUrl}/${app}/`);
  await page.getByLabel('Clinic', { exact: true }).fill(tenant);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** A short suffix that keeps the data one test creates apart from every other run's. */
export function uniqueSuffix() {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** Signs in through the API (for setting up data, not for what is under test); returns the access token. */
export async function apiToken(email, { tenant = TENANT, password = PASSWORD } = {}) {
  const res = await fetch(`${baseUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenant, email, password }),
  });
  if (!res.ok) throw new Error(`login of ${email} for test set-up: HTTP ${res.status}`);
  return (await res.json()).access_token;
}

/** One API call for test set-up; throws on a non-2xx answer. */
export async function apiCall(token, method, path, body) {
  const res = await fetch(`${baseUrl}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path} for test set-up: HTTP ${res.status} ${await res.text()}`);
  return res.status === 204 || res.status === 202 ? undefined : res.json();
}

/**
 * The server's database, for what a browser cannot see (the invitation emails). The e2e runs on
 * the server's machine; scripts/test.sh sets this. Tests that need it skip without it.
 */
export const databaseUrl = process.env.QIVR_E2E_DATABASE_URL ?? '';
export const NO_DATABASE =
  'QIVR_E2E_DATABASE_URL is not set: reading the invitation email needs the server database (scripts/test.sh sets it)';

/**
 * The invitation token from the newest email to `address` (polled briefly: the server may
 * queue it). Reads `body_text` with psql, the address passed as a psql variable.
 */
export async function invitationTokenFor(address) {
  const { execFileSync } = await import('node:child_process');
  const sql =
    "SELECT body_text FROM emails WHERE lower(to_address) = lower(:'address') ORDER BY created_at DESC LIMIT 1;\n";
  for (let attempt = 0; attempt < 20; attempt++) {
    const body = execFileSync('psql', [databaseUrl, '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-v', `address=${address}`], {
      input: sql,
      encoding: 'utf8',
    });
    const m = /accept-invite#token=([^\s]+)/.exec(body);
    if (m) return m[1];
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no invitation email to ${address} in the database`);
}

/** The row of the Users table for `email`, pressing "Load more" until it shows. */
export async function userRow(page, email) {
  await page.getByTestId('user-row').first().waitFor();
  for (;;) {
    const row = page.getByTestId('user-row').filter({ hasText: email });
    if ((await row.count()) > 0) return row;
    const more = page.getByRole('button', { name: 'Load more' });
    if ((await more.count()) === 0) throw new Error(`${email} is not in the users list`);
    const before = await page.getByTestId('user-row').count();
    await more.click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=user-row]').length > n, before);
  }
}

/** Waits until `read()` returns something `ok` accepts; returns it. */
export async function until(read, ok, what, timeout = 10_000) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    last = await read();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}
