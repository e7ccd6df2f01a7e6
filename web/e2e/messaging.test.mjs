// Secure messaging, live on both sides: a patient in the portal and staff in the dashboard, in
// two browser contexts, with no reloads. Every test starts its own conversation under a unique
// subject and compares unread counts only relative to what it saw before.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { apiCall, apiToken, launchBrowser, newPage, signIn, uniqueSuffix, until } from './helpers.mjs';

const STAFF = 'staff@harbour-physio.test';
const STAFF_NAME = 'Sam Taylor';
const PATIENT = 'patient5@harbour-physio.test';
const PATIENT_NAME = 'Mia Rossi';

async function waitLive(page) {
  await page.locator('[data-testid=live-status][data-status=open]').waitFor();
}

/** The number on a badge (0 when it is not shown). Reads without waiting: the badge may vanish
 *  between any two steps, so a count-then-read would race it. */
async function badgeCount(locator) {
  const counts = await locator.evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-count'))));
  return counts[0] ?? 0;
}

async function openInbox(page) {
  await signIn(page, 'clinic', STAFF);
  await page.getByRole('link', { name: /^Inbox/ }).click();
  await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
  await waitLive(page);
  await page.locator('table[aria-label="Conversations"], [data-testid=inbox-empty]').first().waitFor();
}

async function openMessages(page) {
  await signIn(page, 'portal', PATIENT);
  await page.getByRole('link', { name: /^Messages/ }).click();
  await page.getByRole('heading', { name: 'Messages', level: 1 }).waitFor();
  await waitLive(page);
  await page.locator('table[aria-label="My conversations"], [data-testid=messages-empty]').first().waitFor();
}

/** Sends `text` from a chat view and returns its message locator. */
async function send(page, text) {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  return page.getByTestId('message').filter({ hasText: text });
}

describe('messaging', () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('patient and staff chat live: messages, typing, read receipt, unread badges, presence', async () => {
    const subject = `Knee exercises ${uniqueSuffix()}`;
    const clinic = await newPage(browser);
    await openInbox(clinic);
    const portal = await newPage(browser);
    await openMessages(portal);
    for (const p of [clinic, portal]) await p.evaluate(() => (window.__notReloaded = true));
    const navBadge = clinic.getByTestId('inbox-unread');
    const unreadBefore = await badgeCount(navBadge);

    // The patient starts a conversation; it opens as a chat with the first message.
    await portal.getByRole('link', { name: 'New message' }).click();
    await portal.getByLabel('Subject').fill(subject);
    await portal.getByLabel('Message', { exact: true }).fill('Should I keep doing the squats?');
    await portal.getByRole('button', { name: 'Send to my clinic' }).click();
    await portal.getByTestId('conversation-subject').filter({ hasText: subject }).waitFor();
    const first = portal.getByTestId('message').filter({ hasText: 'Should I keep doing the squats?' });
    await first.waitFor();
    assert.equal(await first.getAttribute('data-state'), 'sent');

    // The inbox shows it at once, unread, and the nav badge counts it.
    const row = clinic.getByTestId('conversation-row').filter({ hasText: subject });
    await row.waitFor();
    assert.equal(await row.getAttribute('data-unread'), '1');
    await until(() => badgeCount(navBadge), (n) => n === unreadBefore + 1, 'the nav badge to count the new message');

    // Staff open it: the patient's view says "Seen", sees staff here, and the badges drop.
    await row.getByRole('link', { name: subject }).click();
    const panel = clinic.getByTestId('conversation-panel');
    await panel.getByTestId('message').filter({ hasText: 'Should I keep doing the squats?' }).waitFor();
    await portal.locator('[data-testid=message-status][data-status=seen]').waitFor();
    await portal.locator('[data-testid=presence][data-online=true]').filter({ hasText: STAFF_NAME }).waitFor();
    await clinic.locator('[data-testid=presence][data-online=true]').filter({ hasText: PATIENT_NAME }).waitFor();
    await until(() => row.getAttribute('data-unread'), (n) => n === '0', 'the row to be read');
    await until(() => badgeCount(navBadge), (n) => n === unreadBefore, 'the nav badge to drop');
    assert.equal(await row.getByTestId('unread-badge').count(), 0);

    // Staff type: the patient sees who; it goes when staff send.
    await panel.getByLabel('Message', { exact: true }).pressSequentially('Yes, ', { delay: 30 });
    const portalTyping = portal.getByTestId('typing');
    await portalTyping.filter({ hasText: `${STAFF_NAME} is typing…` }).waitFor();
    const reply = await send(clinic, 'Yes, three sets of ten, every other day.');
    await until(() => reply.getAttribute('data-state'), (s) => s === 'sent', 'the reply to be sent');
    await portal.getByTestId('message').filter({ hasText: 'three sets of ten' }).waitFor();
    await until(() => portalTyping.innerText(), (t) => t.trim() === '', 'the typing indicator to go');

    // The patient is looking: the reply is read at once, and staff see "Seen".
    await clinic.locator('[data-testid=message-status][data-status=seen]').waitFor();

    // The patient types and answers; staff see both live.
    await portal.getByLabel('Message', { exact: true }).pressSequentially('Thanks', { delay: 30 });
    await clinic.getByTestId('typing').filter({ hasText: `${PATIENT_NAME} is typing…` }).waitFor();
    await send(portal, 'Thanks, will do!');
    await panel.getByTestId('message').filter({ hasText: 'Thanks, will do!' }).waitFor();

    for (const p of [clinic, portal]) assert.equal(await p.evaluate(() => window.__notReloaded), true, 'no reload');

    // After a reload, "Seen" comes from the stored read positions.
    const thanks = portal.getByTestId('message').filter({ hasText: 'Thanks, will do!' });
    await thanks.locator('[data-testid=message-status][data-status=seen]').waitFor();
    await portal.reload();
    await thanks.locator('[data-testid=message-status][data-status=seen]').waitFor();
    await clinic.context().close();
    await portal.context().close();
  });

  test('the portal list and badge follow a conversation staff start from the patient page', async () => {
    const subject = `Your scan results ${uniqueSuffix()}`;
    const portal = await newPage(browser);
    await openMessages(portal);
    const badge = portal.getByTestId('messages-unread');
    const before = await badgeCount(badge);

    const clinic = await newPage(browser);
    await signIn(clinic, 'clinic', STAFF);
    await waitLive(clinic);
    const token = await apiToken(STAFF);
    const patients = await apiCall(token, 'GET', `/patients?q=${encodeURIComponent('Rossi')}`);
    const patient = patients.items.find((p) => p.first_name === 'Mia');
    await clinic.goto(clinic.url().replace(/\/clinic\/.*$/, `/clinic/patients/${patient.id}`));
    await clinic.getByRole('button', { name: 'Message patient' }).click();
    await clinic.getByLabel('Subject').fill(subject);
    await clinic.getByLabel('Message', { exact: true }).fill('Your MRI looks fine.');
    await clinic.getByRole('button', { name: 'Start conversation' }).click();
    await clinic.getByTestId('conversation-panel').getByTestId('conversation-subject').filter({ hasText: subject }).waitFor();

    // The portal list shows it live, unread, and the nav badge counts it.
    const row = portal.getByTestId('conversation-row').filter({ hasText: subject });
    await row.waitFor();
    assert.equal(await row.getAttribute('data-unread'), '1');
    await until(() => badgeCount(badge), (n) => n === before + 1, 'the portal badge to count it');

    await row.getByRole('link', { name: subject }).click();
    await portal.getByTestId('message').filter({ hasText: 'Your MRI looks fine.' }).waitFor();
    await until(() => badgeCount(badge), (n) => n === before, 'the portal badge to drop once read');
    await clinic.locator('[data-testid=message-status][data-status=seen]').waitFor();

    // Staff take it: the inbox row and the portal's header follow.
    const panel = clinic.getByTestId('conversation-panel');
    await panel.getByRole('button', { name: 'Assign to me' }).click();
    const inboxRow = clinic.getByTestId('conversation-row').filter({ hasText: subject });
    await inboxRow.getByTestId('conversation-assignee').filter({ hasText: STAFF_NAME }).waitFor();
    await portal.getByText(`handled by ${STAFF_NAME}`).waitFor();

    // Filters: assigned to me, and by patient (searched by name).
    // The filters live in the address, so the box shows checked once the navigation lands.
    await clinic.getByLabel('Assigned to me').click();
    await clinic.waitForURL(/mine=1/);
    await until(() => clinic.getByLabel('Assigned to me').isChecked(), Boolean, 'the filter box to show checked');
    await inboxRow.waitFor();
    await clinic.getByLabel('Patient', { exact: true }).fill('Rossi');
    await clinic.getByRole('list', { name: 'Matching patients' }).getByRole('button', { name: PATIENT_NAME }).click();
    await clinic.getByTestId('inbox-patient-filter').filter({ hasText: PATIENT_NAME }).waitFor();
    assert.match(clinic.url(), new RegExp(`patient_id=${patient.id}`));
    await inboxRow.waitFor();
    for (const name of await clinic.getByTestId('conversation-row').locator('td:nth-child(2)').allInnerTexts()) {
      assert.equal(name.trim(), PATIENT_NAME);
    }

    // Staff close it; the portal's header says so, live.
    await panel.getByRole('button', { name: 'Close conversation' }).click();
    await portal.getByText('closed by the clinic').waitFor();
    await inboxRow.getByTestId('conversation-status').filter({ hasText: 'Closed' }).waitFor();
    await clinic.context().close();
    await portal.context().close();
  });

  test('"Load older messages" brings the earlier history above, in order', async () => {
    const subject = `Long thread ${uniqueSuffix()}`;
    const token = await apiToken(PATIENT);
    const conversation = await apiCall(token, 'POST', '/conversations', { subject });
    for (let i = 1; i <= 33; i++) {
      await apiCall(token, 'POST', `/conversations/${conversation.id}/messages`, { body: `Note ${i} of 33` });
    }
    const portal = await newPage(browser);
    await openMessages(portal);
    await portal.getByTestId('conversation-row').filter({ hasText: subject }).getByRole('link').click();
    await portal.getByTestId('message').filter({ hasText: 'Note 33 of 33' }).waitFor();
    assert.equal(await portal.getByTestId('message').filter({ hasText: 'Note 1 of 33' }).count(), 0);
    await portal.getByRole('button', { name: 'Load older messages' }).click();
    await portal.getByText('Start of the conversation').waitFor();
    const bodies = await portal.getByTestId('message').locator('.msg__body').allInnerTexts();
    assert.deepEqual(bodies, Array.from({ length: 33 }, (_, i) => `Note ${i + 1} of 33`));
    await portal.context().close();
  });

  test('a failed send shows "not sent — retry", and the retry with the same client_id is stored once', async () => {
    const subject = `Retry ${uniqueSuffix()}`;
    const token = await apiToken(PATIENT);
    const conversation = await apiCall(token, 'POST', '/conversations', { subject });
    const portal = await newPage(browser);
    await openMessages(portal);
    await portal.getByTestId('conversation-row').filter({ hasText: subject }).getByRole('link').click();
    await portal.getByTestId('chat').waitFor();

    // 1: the request never reaches the server.
    let mode = 'abort';
    await portal.route(`**/api/v1/conversations/${conversation.id}/messages`, async (route) => {
      if (route.request().method() !== 'POST' || mode === 'pass') return route.fallback();
      if (mode === 'abort') return route.abort('internetdisconnected');
      // 2: the server stores it but the answer is lost.
      await route.fetch();
      return route.abort('connectionreset');
    });
    const lost = await send(portal, 'First try, offline');
    await until(() => lost.getAttribute('data-state'), (s) => s === 'failed', 'the send to fail');
    assert.match(await lost.innerText(), /Not sent — retry/);
    mode = 'pass';
    await lost.getByRole('button', { name: 'retry' }).click();
    await until(() => lost.getAttribute('data-state'), (s) => s === 'sent', 'the retry to be sent');

    mode = 'answer-lost';
    const stored = await send(portal, 'Stored, answer lost');
    // The message.created event may confirm it first; otherwise the send fails and is retried.
    const state = await until(() => stored.getAttribute('data-state'), (s) => s === 'failed' || s === 'sent', 'a result');
    mode = 'pass';
    if (state === 'failed') {
      await stored.getByRole('button', { name: 'retry' }).click();
      await until(() => stored.getAttribute('data-state'), (s) => s === 'sent', 'the retry to be sent');
    }
    assert.equal(await portal.getByTestId('message').filter({ hasText: 'Stored, answer lost' }).count(), 1);

    const page = await apiCall(token, 'GET', `/conversations/${conversation.id}/messages`);
    assert.deepEqual(
      page.items.map((m) => m.body).sort(),
      ['First try, offline', 'Stored, answer lost'],
      'each message stored once',
    );
    await portal.context().close();
  });
});
