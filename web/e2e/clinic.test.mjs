import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PASSWORD, baseUrl, launchBrowser, newPage, signIn } from './helpers.mjs';

describe('clinic dashboard', () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('staff signs in and sees the patient list', async () => {
    const page = await newPage(browser);
    await signIn(page, 'clinic', 'staff@harbour-physio.test');
    await page.getByRole('heading', { name: 'Patients', level: 1 }).waitFor();
    await page.getByTestId('patient-row').first().waitFor();
    assert.ok((await page.getByTestId('patient-row').count()) > 0, 'the demo clinic has patients');
    assert.match(await page.getByTestId('current-user').innerText(), /staff/i);
    assert.equal(new URL(page.url()).pathname, '/clinic/patients');
    await page.context().close();
  });

  test('staff opens a patient page from the list', async () => {
    const page = await newPage(browser);
    await signIn(page, 'clinic', 'staff@harbour-physio.test');
    const first = page.getByTestId('patient-row').first().getByRole('link');
    const listed = (await first.innerText()).trim(); // "Last, First"
    await first.click();
    const heading = page.getByTestId('patient-name');
    await heading.waitFor();
    const [last, firstName] = listed.split(',').map((s) => s.trim());
    assert.equal((await heading.innerText()).trim(), `${firstName} ${last}`);
    assert.match(new URL(page.url()).pathname, /^\/clinic\/patients\/[^/]+$/);
    await page.getByRole('heading', { name: 'Conditions', exact: true }).waitFor();
    await page.getByRole('heading', { name: 'Medical history' }).waitFor();
    await page.context().close();
  });

  test('"Load more" fetches the next page of patients', async (t) => {
    const page = await newPage(browser);
    await signIn(page, 'clinic', 'staff@harbour-physio.test');
    await page.getByTestId('patient-row').first().waitFor();
    const more = page.getByRole('button', { name: 'Load more' });
    if ((await more.count()) === 0) {
      t.skip('fewer patients than one page');
      await page.context().close();
      return;
    }
    const before = await page.getByTestId('patient-row').count();
    await more.click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=patient-row]').length > n, before);
    await page.context().close();
  });

  test('searching narrows the list and is kept in the address', async () => {
    const page = await newPage(browser);
    await signIn(page, 'clinic', 'staff@harbour-physio.test');
    const first = (await page.getByTestId('patient-row').first().getByRole('link').innerText()).trim();
    const lastName = first.split(',')[0].trim();
    await page.getByLabel('Search patients').fill(lastName);
    await page.waitForURL((url) => url.searchParams.get('q') === lastName);
    await page.getByTestId('patient-row').first().waitFor();
    for (const row of await page.getByTestId('patient-row').all()) {
      assert.match(await row.innerText(), new RegExp(lastName, 'i'));
    }
    await page.context().close();
  });

  test('a reload keeps the session and the page', async () => {
    const page = await newPage(browser);
    await signIn(page, 'clinic', 'staff@harbour-physio.test');
    await page.getByTestId('patient-row').first().waitFor();
    await page.reload();
    await page.getByTestId('patient-row').first().waitFor();
    assert.equal(await page.getByLabel('Password', { exact: true }).count(), 0);
    await page.context().close();
  });

  test('the new patient form shows field errors, then creates the patient', async () => {
    const page = await newPage(browser);
    await signIn(page, 'clinic', 'staff@harbour-physio.test');
    await page.getByRole('link', { name: 'New patient' }).click();
    await page.getByRole('button', { name: 'Create patient' }).click();
    // Blank required fields are named before anything is sent.
    await page.locator('.field--invalid').filter({ hasText: 'First name' }).waitFor();
    const suffix = Date.now().toString(36);
    await page.getByLabel('First name', { exact: true }).fill('E2e');
    await page.getByLabel('Last name', { exact: true }).fill(`Browser${suffix}`);
    await page.getByLabel('Date of birth', { exact: true }).fill('1990-04-05');
    // The server's problem+json names the bad field; the form shows it under that field.
    await page.getByLabel('Email', { exact: true }).fill('not-an-email');
    await page.getByRole('button', { name: 'Create patient' }).click();
    await page.locator('.field--invalid').filter({ hasText: 'Email' }).locator('.field__error').waitFor();
    assert.equal(await page.locator('.field--invalid').count(), 1);
    await page.getByLabel('Email', { exact: true }).fill(`e2e-${suffix}@example.test`);
    await page.getByRole('button', { name: 'Create patient' }).click();
    await page.getByTestId('patient-name').filter({ hasText: `E2e Browser${suffix}` }).waitFor();
    await page.context().close();
  });

  test('a patient is refused by the clinic dashboard', async () => {
    const page = await newPage(browser);
    await signIn(page, 'clinic', 'patient1@harbour-physio.test');
    await page
      .getByText('This dashboard is for clinic staff. Patients use the patient portal at /portal/.')
      .waitFor();
    assert.equal(await page.getByTestId('patient-row').count(), 0);
    // No session is kept: a reload shows the login form again.
    await page.reload();
    await page.getByLabel('Password', { exact: true }).waitFor();
    await page.context().close();
  });

  test('logging out returns to the login screen', async () => {
    const page = await newPage(browser);
    await signIn(page, 'clinic', 'admin@harbour-physio.test');
    await page.getByTestId('patient-row').first().waitFor();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Password', { exact: true }).waitFor();
    await page.reload();
    await page.getByLabel('Password', { exact: true }).waitFor();
    await page.context().close();
  });

  test('the session outlives the access token through silent refresh', async (t) => {
    // Only when the server issues short-lived access tokens (QIVR_AUTH__ACCESS_TTL_SECS=20),
    // so the wait stays short. (The realtime client's token refresh is tested in Vitest.)
    const res = await fetch(`${baseUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'harbour-physio', email: 'staff2@harbour-physio.test', password: PASSWORD }),
    });
    const { expires_in: ttl } = await res.json();
    if (!(ttl <= 30)) {
      t.skip(`access tokens live ${ttl}s here`);
      return;
    }
    const page = await newPage(browser);
    await signIn(page, 'clinic', 'staff@harbour-physio.test');
    await page.getByTestId('patient-row').first().waitFor();
    await page.waitForTimeout((ttl + 2) * 1000);
    await page.getByTestId('patient-row').first().getByRole('link').click();
    await page.getByTestId('patient-name').waitFor();
    assert.equal(await page.getByLabel('Password', { exact: true }).count(), 0);
    await page.context().close();
  });
});

