// Intake → evaluation queue, live: the portal's intake form, the dashboard's queue and triage
// panel, the portal's "My intakes", all updated over the realtime socket without reloads.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { apiCall, apiToken, baseUrl, launchBrowser, newPage, signIn, uniqueSuffix, until } from './helpers.mjs';

const STAFF = 'staff@harbour-physio.test';
const STAFF2 = 'staff2@harbour-physio.test';

/** Waits until the page's realtime socket is open and authenticated. */
async function waitLive(page) {
  await page.locator('[data-testid=live-status][data-status=open]').waitFor();
}

/** Signs in to the dashboard and opens the evaluation queue, live. */
async function openQueue(page, email) {
  await signIn(page, 'clinic', email);
  await page.getByRole('link', { name: 'Evaluations', exact: true }).click();
  await page.getByRole('heading', { name: 'Evaluations', level: 1 }).waitFor();
  await waitLive(page);
  await page.locator('table[aria-label="Evaluation queue"], [data-testid=queue-empty]').first().waitFor();
}

/** The queue row whose problem is `text`. */
const queueRow = (page, text) => page.getByTestId('evaluation-row').filter({ hasText: text });

/** Submits an intake as a patient through the API (set-up, not what is under test). */
async function submitIntakeByApi(patientEmail, complaint, body = {}) {
  const token = await apiToken(patientEmail);
  return apiCall(token, 'POST', '/intakes', { chief_complaint: complaint, pain_level: 4, ...body });
}

describe('intake and evaluation queue', () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('an intake sent in the portal appears in an open dashboard queue within a second, without a reload', async () => {
    const complaint = `Sore lower back ${uniqueSuffix()}`;
    const clinic = await newPage(browser);
    await openQueue(clinic, STAFF);
    await clinic.evaluate(() => {
      window.__notReloaded = true;
    });

    const portal = await newPage(browser);
    await signIn(portal, 'portal', 'patient3@harbour-physio.test');
    await portal.getByRole('link', { name: 'My intakes' }).click();
    await portal.getByRole('link', { name: 'New intake form' }).click();
    await portal.getByLabel('What is the main problem?').fill(complaint);
    await portal.getByLabel('Pain level right now').fill('6');
    await portal.getByLabel('Lower back').check();
    await portal.getByLabel('When did it start?').fill('Two weeks ago');
    const groups = portal.getByRole('radiogroup');
    const questions = await groups.count();
    assert.equal(questions, 8, 'eight red-flag questions');
    for (let i = 0; i < questions; i++) await groups.nth(i).getByLabel('No').check();
    await groups.filter({ hasText: 'wake you at night' }).getByLabel('Yes').check();

    const sent = portal.waitForResponse((r) => r.url().endsWith('/api/v1/intakes') && r.request().method() === 'POST');
    await portal.getByRole('button', { name: 'Send to my clinic' }).click();
    assert.equal((await sent).status(), 201);

    // The queue shows it within a second of the server accepting it.
    const row = queueRow(clinic, complaint);
    await row.waitFor({ timeout: 1000 });
    assert.equal(await row.getByTestId('evaluation-urgency').innerText(), 'Urgent');
    assert.match(await row.innerText(), /Night pain/);
    assert.equal(await clinic.evaluate(() => window.__notReloaded), true, 'the dashboard was not reloaded');

    // The portal lists it as received.
    await portal.getByRole('heading', { name: 'My intakes' }).waitFor();
    const mine = portal.getByTestId('intake-row').filter({ hasText: complaint });
    assert.equal(await mine.getByTestId('intake-status').getAttribute('data-status'), 'pending');
    await clinic.context().close();
    await portal.context().close();
  });

  test('two staff dashboards: one triages, the other sees it live', async () => {
    const complaint = `Stiff neck ${uniqueSuffix()}`;
    const a = await newPage(browser);
    const b = await newPage(browser);
    await openQueue(a, STAFF);
    await openQueue(b, STAFF2);
    await submitIntakeByApi('patient2@harbour-physio.test', complaint);
    await queueRow(a, complaint).waitFor();
    await queueRow(b, complaint).waitFor();

    // B has the same evaluation open in the triage panel.
    await queueRow(b, complaint).getByRole('link').click();
    const panelB = b.getByTestId('triage-panel');
    await panelB.getByText(complaint).waitFor();

    await queueRow(a, complaint).getByRole('link').click();
    const panelA = a.getByTestId('triage-panel');
    await panelA.getByText(complaint).waitFor();
    const note = `Called patient, booked assessment ${uniqueSuffix()}`;
    await panelA.getByLabel('Status').selectOption('in_review');
    await panelA.getByLabel('Notes').fill(note);
    await panelA.getByRole('button', { name: 'Assign to me' }).click();
    await panelA.getByRole('button', { name: 'Save triage' }).click();
    await panelA.getByText('Saved.').waitFor();

    // B's queue row and open panel follow, without a reload.
    await queueRow(b, complaint).locator('[data-testid=evaluation-status][data-status=in_review]').waitFor();
    await b.waitForFunction(
      (text) => [...document.querySelectorAll('[data-testid=triage-panel] textarea')].some((t) => t.value === text),
      note,
    );
    assert.match(await queueRow(b, complaint).getByTestId('evaluation-assignee').innerText(), /\S/);
    await panelB.locator('[data-testid=evaluation-status][data-status=in_review]').waitFor();

    await a.context().close();
    await b.context().close();
  });

  test('the patient sees the new status of their intake live after staff triage', async () => {
    const complaint = `Twisted ankle ${uniqueSuffix()}`;
    const intake = await submitIntakeByApi('patient4@harbour-physio.test', complaint, { pain_areas: ['Left ankle or foot'] });
    const portal = await newPage(browser);
    await signIn(portal, 'portal', 'patient4@harbour-physio.test');
    await portal.getByRole('link', { name: 'My intakes' }).click();
    await waitLive(portal);
    const row = portal.getByTestId('intake-row').filter({ hasText: complaint });
    await row.locator('[data-testid=intake-status][data-status=pending]').waitFor();
    await portal.evaluate(() => {
      window.__notReloaded = true;
    });

    const staff = await apiToken(STAFF);
    await apiCall(staff, 'PATCH', `/evaluations/${intake.evaluation_id}`, { status: 'in_review' });
    await row.locator('[data-testid=intake-status][data-status=in_review]').waitFor();
    assert.equal(await row.getByTestId('intake-status').innerText(), 'Being reviewed');
    await apiCall(staff, 'PATCH', `/evaluations/${intake.evaluation_id}`, { status: 'triaged' });
    await row.locator('[data-testid=intake-status][data-status=triaged]').waitFor();
    assert.equal(await portal.evaluate(() => window.__notReloaded), true, 'the portal was not reloaded');
    await portal.context().close();
  });

  test('a dropped socket reconnects and recovers the events it missed (subscribe with since)', async () => {
    const complaint = `Tennis elbow ${uniqueSuffix()}`;
    const intake = await submitIntakeByApi('patient5@harbour-physio.test', complaint);
    const page = await newPage(browser);

    // Sit between the page and /ws: record frames, and hold a reconnect's frames on demand.
    const connections = [];
    let holdNext = null;
    await page.routeWebSocket(/\/ws$/, (ws) => {
      const server = ws.connectToServer();
      const conn = { ws, server, sent: [], received: [], held: holdNext, queue: [] };
      holdNext = null;
      connections.push(conn);
      ws.onMessage((m) => {
        conn.sent.push(JSON.parse(String(m)));
        if (conn.held) conn.queue.push(m);
        else server.send(m);
      });
      server.onMessage((m) => {
        conn.received.push(JSON.parse(String(m)));
        ws.send(m);
      });
    });

    await openQueue(page, STAFF);
    await queueRow(page, complaint).locator('[data-testid=evaluation-status][data-status=pending]').waitFor();
    assert.equal(connections.length, 1);
    const first = connections[0];
    // The row comes over REST; the subscription may answer a moment later.
    await until(() => first.received.some((f) => f.op === 'subscribed' && f.channel === 'evaluations'), Boolean, 'the queue subscription');
    await page.evaluate(() => {
      window.__notReloaded = true;
    });
    const listRequests = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/v1/evaluations') listRequests.push(r.url());
    });

    // Drop the socket as a slow consumer would be dropped, and hold the reconnect's frames
    // until the change below has been published.
    let release;
    holdNext = new Promise((resolve) => (release = resolve));
    first.ws.close({ code: 4008, reason: 'slow consumer' });
    first.server.close({ code: 1000 });
    await page.locator('[data-testid=live-status]:not([data-status=open])').waitFor();

    const staff2 = await apiToken(STAFF2);
    await apiCall(staff2, 'PATCH', `/evaluations/${intake.evaluation_id}`, { status: 'closed' });

    // Let the reconnect through.
    for (let i = 0; i < 50 && connections.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(connections.length, 2, 'the client reconnected');
    const second = connections[1];
    await release();
    second.held = null;
    for (const m of second.queue) second.server.send(m);
    second.queue = [];

    // The row shows the change made while disconnected: the open filter drops closed ones.
    await queueRow(page, complaint).waitFor({ state: 'detached' });
    await waitLive(page);
    const resubscribe = second.sent.find((f) => f.op === 'subscribe' && f.channel === 'evaluations');
    assert.ok(resubscribe?.since?.offset && resubscribe.since.epoch, 'resubscribed with since');
    const subscribed = second.received.find((f) => f.op === 'subscribed' && f.channel === 'evaluations');
    assert.equal(subscribed.recovered, true, 'the server recovered the gap');
    assert.ok(
      subscribed.events.some((e) => e.event.kind === 'evaluation.updated' && e.event.data.id === intake.evaluation_id),
      'the missed event came in the subscribed reply',
    );
    assert.deepEqual(listRequests, [], 'recovered from the socket, not by refetching the list');
    assert.equal(await page.evaluate(() => window.__notReloaded), true, 'the page was not reloaded');

    // And the "All" filter shows it closed.
    await page.getByLabel('Status', { exact: true }).selectOption('all');
    await queueRow(page, complaint).locator('[data-testid=evaluation-status][data-status=closed]').waitFor();
    await page.context().close();
  });
});
