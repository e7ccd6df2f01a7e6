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
