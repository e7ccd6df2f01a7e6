// Patient records in both apps: a new patient passes the consent gate and uploads a document in
// the portal, staff see it on the patient page, and a document staff attach in the chat reaches
// the patient's open conversation live, as a download. Each test makes its own patient.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NO_DATABASE,
  apiCall,
  apiToken,
  baseUrl,
  databaseUrl,
  invitationTokenFor,
  launchBrowser,
  newPage,
  signIn,
  uniqueSuffix,
} from './helpers.mjs';

const STAFF = 'staff@harbour-physio.test';
const PASSWORD = 'e2e-chosen-password';

/** A small, valid PDF-looking file. */
function pdf(text) {
  return Buffer.from(`%PDF-1.4\n% ${text}\n%%EOF\n`);
}

/** A new patient with a portal login of their own (no consents granted yet), signed in. */
async function newPatientInPortal(browser, suffix) {
  const email = `e2e-records-${suffix}@example.test`;
  const staff = await apiToken(STAFF);
  const patient = await apiCall(staff, 'POST', '/patients', {
    first_name: 'Rec',
    last_name: `Ords${suffix}`,
    date_of_birth: '1980-02-03',
    email,
  });
  await apiCall(staff, 'POST', `/patients/${patient.id}/invite`);
  const portal = await newPage(browser);
  await portal.goto(`${baseUrl}/portal/accept-invite#token=${await invitationTokenFor(email)}`);
  await portal.getByLabel('New password', { exact: true }).fill(PASSWORD);
  await portal.getByLabel('Confirm password', { exact: true }).fill(PASSWORD);
  await portal.getByRole('button', { name: 'Set password and sign in' }).click();
  return { patient, portal, staff };
}

/** Agrees to every required consent on the gate. */
async function passConsentGate(portal) {
  const gate = portal.getByTestId('consent-gate');
  await gate.waitFor();
  const agree = portal.getByRole('button', { name: 'Agree and continue' });
  assert.equal(await agree.isDisabled(), true, 'nothing is granted before the patient agrees');
  for (const box of await gate.getByRole('checkbox').all()) await box.check();
  await agree.click();
  await gate.waitFor({ state: 'detached' });
}

describe('patient records', () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('a new patient passes the consent gate, uploads a document, and staff see it on the patient page', async (t) => {
    if (!databaseUrl) {
      t.skip(NO_DATABASE);
      return;
    }
    const suffix = uniqueSuffix();
    const { patient, portal } = await newPatientInPortal(browser, suffix);
    await passConsentGate(portal);
    await portal.getByTestId('my-name').filter({ hasText: `Ords${suffix}` }).waitFor();

    await portal.getByRole('link', { name: 'My consents' }).click();
    await portal.getByTestId('consent').filter({ hasText: 'Privacy' }).getByTestId('consent-status').filter({ hasText: 'Granted' }).waitFor();

    const fileName = `referral-${suffix}.pdf`;
    await portal.getByRole('link', { name: 'My documents' }).click();
    await portal.getByRole('heading', { name: 'My documents', level: 1 }).waitFor();
    await portal.getByLabel('File', { exact: true }).setInputFiles({ name: fileName, mimeType: 'application/pdf', buffer: pdf(suffix) });
    await portal.getByRole('button', { name: 'Upload', exact: true }).click();
    await portal.getByTestId('document-row').filter({ hasText: fileName }).waitFor();

    // A file that is not what it claims is refused with the reason.
    await portal.getByLabel('File', { exact: true }).setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: pdf('not a png') });
    await portal.getByRole('button', { name: 'Upload', exact: true }).click();
    await portal.getByTestId('upload-error').filter({ hasText: 'image/png' }).waitFor();
    await portal.context().close();

    const clinic = await newPage(browser);
    await signIn(clinic, 'clinic', STAFF);
    await clinic.getByTestId('patient-row').first().waitFor();
    await clinic.goto(`${baseUrl}/clinic/patients/${patient.id}`);
    await clinic.getByTestId('document-row').filter({ hasText: fileName }).waitFor();
    await clinic.getByTestId('patient-summary').getByText(fileName).waitFor();
    await clinic.getByTestId('timeline-entry').filter({ hasText: fileName }).waitFor();
    await clinic.getByTestId('timeline-entry').filter({ hasText: 'Consent granted' }).first().waitFor();
    await clinic.context().close();
  });

  test('staff attach a document in the chat and the patient sees it live and downloads it', async (t) => {
    if (!databaseUrl) {
      t.skip(NO_DATABASE);
      return;
    }
    const suffix = uniqueSuffix();
    const { patient, portal, staff } = await newPatientInPortal(browser, suffix);
    await passConsentGate(portal);
    const subject = `Your exercises ${suffix}`;
    const conversation = await apiCall(staff, 'POST', '/conversations', { subject, patient_id: patient.id, body: 'Hello from the clinic' });

    await portal.getByRole('link', { name: /^Messages/ }).click();
    await portal.getByTestId('conversation-row').filter({ hasText: subject }).getByRole('link').click();
    await portal.getByTestId('message').filter({ hasText: 'Hello from the clinic' }).waitFor();
    await portal.locator('[data-testid=live-status][data-status=open]').waitFor();

    const clinic = await newPage(browser);
    await signIn(clinic, 'clinic', STAFF);
    await clinic.getByTestId('patient-row').first().waitFor();
    await clinic.goto(`${baseUrl}/clinic/inbox/${conversation.id}`);
    await clinic.getByTestId('message').filter({ hasText: 'Hello from the clinic' }).waitFor();
    const fileName = `exercises-${suffix}.pdf`;
    await clinic.getByLabel('Attach a file').setInputFiles({ name: fileName, mimeType: 'application/pdf', buffer: pdf('calf raises') });
    await clinic.getByTestId('attached-file').filter({ hasText: fileName }).waitFor();
    await clinic.getByLabel('Message', { exact: true }).fill('Here is your plan');
    await clinic.getByRole('button', { name: 'Send', exact: true }).click();
    await clinic.getByTestId('message').filter({ hasText: 'Here is your plan' }).getByTestId('message-attachment').waitFor();

    // The patient's open conversation shows it without a reload, and it downloads.
    const attachment = portal.getByTestId('message').filter({ hasText: 'Here is your plan' }).getByTestId('message-attachment');
    await attachment.filter({ hasText: fileName }).waitFor();
    const [download] = await Promise.all([portal.waitForEvent('download'), attachment.getByRole('button', { name: fileName }).click()]);
    assert.equal(download.suggestedFilename(), fileName);

    // It is on the patient's record too.
    await portal.getByRole('link', { name: 'My documents' }).click();
    await portal.getByTestId('document-row').filter({ hasText: fileName }).waitFor();
    await portal.context().close();
    await clinic.context().close();
  });

  test('a document staff add shows in the patient’s open portal, and one the patient adds on the open patient page, without a reload', async () => {
    const suffix = uniqueSuffix();
    const staff = await apiToken(STAFF);
    const patients = await apiCall(staff, 'GET', `/patients?q=${encodeURIComponent('Okafor')}`);
    const patient = patients.items.find((p) => p.first_name === 'Ava');

    const portal = await newPage(browser);
    await signIn(portal, 'portal', 'patient3@harbour-physio.test');
    await portal.getByRole('link', { name: 'My documents' }).click();
    await portal.getByRole('heading', { name: 'My documents', level: 1 }).waitFor();
    await portal.locator('[data-testid=live-status][data-status=open]').waitFor();
    const clinic = await newPage(browser);
    await signIn(clinic, 'clinic', STAFF);
    await clinic.getByTestId('patient-row').first().waitFor();
    await clinic.goto(`${baseUrl}/clinic/patients/${patient.id}`);
    await clinic.getByRole('heading', { name: 'Documents', exact: true }).waitFor();
    await clinic.locator('[data-testid=live-status][data-status=open]').waitFor();
    for (const page of [portal, clinic]) {
      await page.evaluate(() => {
        window.__notReloaded = true;
      });
    }

    const fromClinic = `referral-${suffix}.pdf`;
    const form = new FormData();
    form.append('file', new Blob([pdf('referral')], { type: 'application/pdf' }), fromClinic);
    const uploaded = await fetch(`${baseUrl}/api/v1/patients/${patient.id}/documents`, { method: 'POST', headers: { authorization: `Bearer ${staff}` }, body: form });
    assert.equal(uploaded.status, 201);
    await portal.getByTestId('document-row').filter({ hasText: fromClinic }).waitFor();

    const fromPatient = `knee-photo-${suffix}.pdf`;
    await portal.getByLabel('File', { exact: true }).setInputFiles({ name: fromPatient, mimeType: 'application/pdf', buffer: pdf('knee') });
    await portal.getByRole('button', { name: 'Upload', exact: true }).click();
    await clinic.getByTestId('document-row').filter({ hasText: fromPatient }).waitFor();
    for (const page of [portal, clinic]) assert.equal(await page.evaluate(() => window.__notReloaded), true, 'no reload');
    await portal.context().close();
    await clinic.context().close();
  });
});
