import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, newPage, signIn } from './helpers.mjs';

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
    await page.getByRole('heading', { name: 'Conditions' }).waitFor();
    await page.getByRole('heading', { name: 'Medical history' }).waitFor();
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

  test(
    'the session outlives the access token through silent refresh',
    { skip: process.env.QIVR_E2E_MOCK ? false : 'needs the mock server’s short-lived tokens' },
    async () => {
      const page = await newPage(browser);
      await signIn(page, 'clinic', 'staff@harbour-physio.test');
      await page.getByTestId('patient-row').first().waitFor();
      await page.waitForTimeout(10_000); // the mock issues 8-second access tokens
      await page.getByTestId('patient-row').first().getByRole('link').click();
      await page.getByTestId('patient-name').waitFor();
      assert.equal(await page.getByLabel('Password', { exact: true }).count(), 0);
      await page.context().close();
    },
  );
});

