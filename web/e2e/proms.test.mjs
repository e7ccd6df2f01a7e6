// PROMs, live: staff build a questionnaire in the dashboard's builder and assign it; the patient
// completes it in the portal (resuming a saved draft); the open patient chart shows the score
// without a reload. A PHQ-9 with item 9 above 0 alerts an open staff dashboard at once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { apiCall, apiToken, baseUrl, launchBrowser, newPage, signIn, uniqueSuffix } from './helpers.mjs';

const STAFF = 'staff@harbour-physio.test';

async function waitLive(page) {
  await page.locator('[data-testid=live-status][data-status=open]').waitFor();
}

/** A demo patient's id, as staff see it. */
async function patientId(token, lastName) {
  const page = await apiCall(token, 'GET', `/patients?q=${encodeURIComponent(lastName)}`);
  return page.items.find((p) => p.last_name === lastName).id;
}

describe('PROMs', () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('staff build and assign a questionnaire, the patient completes it in the portal, and the open chart shows the score without a reload', async () => {
    const name = `Knee check ${uniqueSuffix()}`;
    const clinic = await newPage(browser);
    await signIn(clinic, 'clinic', STAFF);
    await clinic.getByRole('link', { name: 'PROMs', exact: true }).click();
    await clinic.getByRole('heading', { name: 'PROMs', level: 1 }).waitFor();
    await clinic.getByRole('link', { name: 'New template' }).click();

    // The builder: a choice with three scored options, a 0–10 scale, a summed scale with bands.
    await clinic.getByLabel('Template name').fill(name);
    await clinic.getByLabel('Section 1 title').fill('This week');
    await clinic.getByRole('button', { name: 'Add item' }).click();
    await clinic.getByLabel('Item 1 text').fill('How is your knee?');
    await clinic.getByLabel('Item 1 option 1 label').fill('Fine');
    await clinic.getByLabel('Item 1 option 2 label').fill('Sore');
    await clinic.getByRole('button', { name: 'Add option to item 1' }).click();
    await clinic.getByLabel('Item 1 option 3 label').fill('Very sore');
    assert.equal(await clinic.getByLabel('Item 1 option 3 value').inputValue(), '2');
    await clinic.getByRole('button', { name: 'Add item' }).click();
    await clinic.getByLabel('Item 2 type').selectOption('scale');
    await clinic.getByLabel('Item 2 text').fill('How hard are stairs?');
    await clinic.getByRole('button', { name: 'Add scale' }).click();
    await clinic.getByLabel('Scale 1 label').fill('Knee burden');
    await clinic.getByRole('button', { name: 'Add band to scale 1' }).click();
    await clinic.getByLabel('Scale 1 band 1 label').fill('Low');
    await clinic.getByRole('button', { name: 'Add band to scale 1' }).click();
    await clinic.getByLabel('Scale 1 band 2 maximum').fill('12');
    await clinic.getByLabel('Scale 1 band 2 label').fill('High');
    await clinic.getByLabel('Scale 1 MCID').fill('2');
    const created = clinic.waitForResponse((r) => r.url().endsWith('/api/v1/prom-templates') && r.request().method() === 'POST');
    await clinic.getByRole('button', { name: 'Save template' }).click();
    assert.equal((await created).status(), 201);
    await clinic.getByTestId('prom-template').filter({ hasText: name }).waitFor();

    // Assign it to Noah Fischer from his page, which stays open.
    const staffToken = await apiToken(STAFF);
    const noah = await patientId(staffToken, 'Fischer');
    await clinic.goto(`${baseUrl}/clinic/patients/${noah}`);
    await clinic.getByRole('heading', { name: 'PROMs' }).waitFor();
    await waitLive(clinic);
    await clinic.getByLabel('Questionnaire to assign').selectOption({ label: name });
    await clinic.getByRole('button', { name: 'Assign', exact: true }).click();
    await clinic.getByText('Assigned: 1 questionnaire.').waitFor();
    await clinic.evaluate(() => {
      window.__notReloaded = true;
    });

    // The portal: start, leave, come back to the saved answers, finish.
    const portal = await newPage(browser);
    await signIn(portal, 'portal', 'patient4@harbour-physio.test');
    await portal.getByRole('link', { name: 'My questionnaires' }).click();
    await portal.getByTestId('prom-due').filter({ hasText: name }).getByRole('link').click();
    await portal.getByLabel('Very sore').check();
    await portal.getByTestId('prom-saved').waitFor();
    await portal.reload();
    await portal.getByRole('heading', { name, level: 1 }).waitFor();
    assert.equal(await portal.getByLabel('Very sore').isChecked(), true, 'the draft was resumed');
    await portal.getByLabel('How hard are stairs?').fill('4');
    await portal.getByRole('button', { name: 'Submit' }).click();
    const result = portal.getByTestId('prom-score');
    await result.waitFor();
    assert.equal(await result.innerText(), 'Knee burden: 6 (High)');

    // The dashboard's open chart shows it, without a reload.
    const chart = clinic.getByTestId('prom-trend').filter({ hasText: name });
    await chart.getByTestId('prom-latest-score').filter({ hasText: 'latest 6 (High)' }).waitFor();
    assert.equal(await chart.getByTestId('prom-point').count(), 1);
    assert.equal(await clinic.evaluate(() => window.__notReloaded), true, 'the dashboard was not reloaded');

    // Staff read the answers as the patient saw them, and export the response as FHIR.
    const row = clinic.getByTestId('patient-prom').filter({ hasText: name });
    await row.and(clinic.locator('[data-status=completed]')).waitFor();
    await row.getByRole('button', { name: 'Answers' }).click();
    const answers = clinic.getByTestId('prom-answers');
    await answers.getByText('Very sore').waitFor();
    const [download] = await Promise.all([
      clinic.waitForEvent('download'),
      answers.getByRole('button', { name: 'Download FHIR QuestionnaireResponse' }).click(),
    ]);
    const { readFile } = await import('node:fs/promises');
    const resource = JSON.parse(await readFile(await download.path(), 'utf8'));
    assert.equal(resource.resourceType, 'QuestionnaireResponse');
    assert.equal(resource.status, 'completed');
    await clinic.context().close();
    await portal.context().close();
  });

  test('a PHQ-9 with item 9 above 0 shows a live alert on an open staff dashboard, which staff acknowledge', async () => {
    const clinic = await newPage(browser);
    await signIn(clinic, 'clinic', STAFF);
    await clinic.getByRole('heading', { level: 1 }).first().waitFor();
    await waitLive(clinic);
    await clinic.evaluate(() => {
      window.__notReloaded = true;
    });

    // Set-up through the API: PHQ-9 assigned to Mia Rossi, who answers item 9 with "several days".
    const staffToken = await apiToken(STAFF);
    const mia = await patientId(staffToken, 'Rossi');
    const templates = await apiCall(staffToken, 'GET', '/prom-templates');
    const phq9 = templates.items.find((t) => t.instrument === 'phq9');
    const assigned = await apiCall(staffToken, 'POST', '/prom-assignments', { patient_id: mia, template_id: phq9.id });
    const instance = assigned.instances[0];
    const answers = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`phq9_${i + 1}`, i === 8 ? 1 : 0]));
    const patientToken = await apiToken('patient5@harbour-physio.test');
    const submitted = await apiCall(patientToken, 'POST', `/prom-instances/${instance.id}/submit`, { template_version: instance.template_version, answers });
    assert.equal(submitted.review_status, 'needs_review');
    const alertId = submitted.alerts[0].id;

    const alert = clinic.locator(`[data-testid=prom-alert][data-id="${alertId}"]`).first();
    await alert.waitFor();
    assert.match(await alert.innerText(), /Mia Rossi/);
    assert.match(await alert.innerText(), /thoughts of self-harm/);
    await alert.getByRole('button', { name: 'Acknowledge' }).click();
    await clinic.locator(`[data-testid=prom-alert][data-id="${alertId}"]`).first().waitFor({ state: 'detached' });
    assert.equal(await clinic.evaluate(() => window.__notReloaded), true, 'the dashboard was not reloaded');
    const open = await apiCall(staffToken, 'GET', '/prom-alerts?open=true');
    assert.equal(open.items.some((a) => a.id === alertId), false, 'acknowledged on the server');
    await clinic.context().close();
  });
});
