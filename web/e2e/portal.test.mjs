import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, newPage, signIn } from './helpers.mjs';

describe('patient portal', () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('a patient signs in and sees their details', async () => {
    const page = await newPage(browser);
    await signIn(page, 'portal', 'patient1@harbour-physio.test');
    await page.getByRole('heading', { name: 'My details', level: 1 }).waitFor();
    const name = (await page.getByTestId('my-name').innerText()).trim();
    assert.ok(name.length > 0, 'the patient record has a name');
    assert.equal(new URL(page.url()).pathname, '/portal/me');
    await page.context().close();
  });

  test('a patient edits their phone number, or sees the details read-only', async () => {
    const page = await newPage(browser);
    await signIn(page, 'portal', 'patient2@harbour-physio.test');
    await page.getByRole('button', { name: 'Edit contact details' }).click();
    const phone = `+61 400 ${String(Date.now()).slice(-6)}`;
    await page.getByLabel('Phone', { exact: true }).fill(phone);
    await page.getByRole('button', { name: 'Save' }).click();
    const outcome = await Promise.race([
      page.getByText('Your details were saved.').waitFor().then(() => 'saved'),
      page.getByText('Your clinic keeps these details up to date').waitFor().then(() => 'read-only'),
    ]);
    if (outcome === 'saved') await page.getByText(phone).waitFor();
    await page.context().close();
  });

  test('a patient turns appointment emails off and the choice is kept', async () => {
    const page = await newPage(browser);
    await signIn(page, 'portal', 'patient3@harbour-physio.test');
    const settings = page.getByTestId('notification-settings');
    const reminders = settings.getByRole('checkbox', { name: 'A reminder before an appointment' });
    await reminders.waitFor();
    const wanted = !(await reminders.isChecked());
    const saved = page.waitForResponse((r) => r.url().includes('/notification-preferences/appointment_reminder') && r.ok());
    await reminders.setChecked(wanted);
    await saved;
    await page.reload();
    await reminders.waitFor();
    assert.equal(await reminders.isChecked(), wanted);
    await page.context().close();
  });

  test('clinic staff are told the portal is for patients', async () => {
    const page = await newPage(browser);
    await signIn(page, 'portal', 'staff@harbour-physio.test');
    await page.getByText('This portal is for patients. Clinic staff use the clinic dashboard at /clinic/.').waitFor();
    assert.equal(await page.getByTestId('my-name').count(), 0);
    await page.context().close();
  });

  test('wrong password shows an error and no session', async () => {
    const page = await newPage(browser);
    await signIn(page, 'portal', 'patient1@harbour-physio.test', { password: 'not-the-password' });
    await page.getByRole('alert').first().waitFor();
    assert.equal(await page.getByTestId('my-name').count(), 0);
    await page.context().close();
  });
});
