// Appointments, live: staff book in the dashboard's calendar and the patient's open portal shows
// it; a patient cancels or requests in the portal and an open dashboard follows (and alerts);
// a double booking is refused with the provider's name next to the time. Every test books on
// its own far-future day, so none depends on another's data.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { apiCall, apiToken, launchBrowser, newPage, signIn, uniqueSuffix } from './helpers.mjs';

const STAFF = 'staff@harbour-physio.test';

/** A random weekday between 2031 and 2040, `YYYY-MM-DD`: far from any other test's bookings. */
function farDay() {
  for (;;) {
    const t = Date.UTC(2031, 0, 1) + Math.floor(Math.random() * 3650) * 86_400_000;
    const d = new Date(t);
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) return d.toISOString().slice(0, 10);
  }
}

/** The instant the clinic's wall clock (`timeZone`) shows `date` at `minutes` after midnight. */
function zoned(date, minutes, timeZone) {
  const [y, m, d] = date.split('-').map(Number);
  const wall = Date.UTC(y, m - 1, d, 0, minutes);
  const offset = (t) => {
    const p = Object.fromEntries(
      new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })
        .formatToParts(new Date(t))
        .map((x) => [x.type, x.value]),
    );
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute) - t;
  };
  const guess = wall - offset(wall);
  return new Date(wall - offset(guess)).toISOString();
}

/** How the calendar names a day in a slot's label (the browser's locale, as `formatDay` does). */
async function dayLabel(page, date) {
  return page.evaluate(
    (d) => new Date(`${d}T12:00:00Z`).toLocaleDateString(undefined, { timeZone: 'UTC', weekday: 'long', day: 'numeric', month: 'long' }),
    date,
  );
}

async function waitLive(page) {
  await page.locator('[data-testid=live-status][data-status=open]').waitFor();
}

/** Signs in to the dashboard and opens the calendar on `date`, live. */
async function openCalendar(page, date) {
  await signIn(page, 'clinic', STAFF);
  await page.getByTestId('current-user').waitFor();
  await page.getByRole('link', { name: 'Appointments', exact: true }).click();
  await page.getByRole('heading', { name: 'Appointments', level: 1 }).waitFor();
  await page.getByLabel('Go to date').fill(date);
  await page.locator(`[data-testid=calendar-column][data-date="${date}"]`).first().waitFor();
  await waitLive(page);
}

/** Signs in to the portal and opens "My appointments", live. */
async function openMyAppointments(page, email) {
  await signIn(page, 'portal', email);
  await page.getByRole('link', { name: 'My appointments' }).click();
  await page.getByRole('heading', { name: 'My appointments' }).waitFor();
  await waitLive(page);
}

/** Demo data for set-up: the staff token, the clinic's time zone, the first active provider, a patient. */
async function setUp(patientEmail) {
  const staff = await apiToken(STAFF);
  const settings = await apiCall(staff, 'GET', '/clinic/settings');
  const provider = (await apiCall(staff, 'GET', '/providers')).items.find((p) => p.active);
  const patientToken = await apiToken(patientEmail);
  const patient = await apiCall(patientToken, 'GET', '/patients/me');
  return { staff, timeZone: settings.timezone, provider, patient };
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('appointments', () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('staff book in the calendar and the patient’s open portal shows it without a reload', async () => {
    const email = 'patient4@harbour-physio.test';
    const { provider, patient } = await setUp(email);
    const date = farDay();
    const room = `Room ${uniqueSuffix()}`;

    const portal = await newPage(browser);
    await openMyAppointments(portal, email);
    await portal.evaluate(() => {
      window.__notReloaded = true;
    });

    const clinic = await newPage(browser);
    await openCalendar(clinic, date);
    const day = await dayLabel(clinic, date);
    await clinic.getByRole('button', { name: new RegExp(`^Book ${escape(provider.name)} on ${escape(day)} at 10:00$`) }).click();
    const panel = clinic.getByTestId('booking-panel');
    await panel.getByLabel('Patient').fill(patient.last_name);
    await panel.getByRole('button', { name: new RegExp(`${escape(patient.first_name)} ${escape(patient.last_name)}`) }).first().click();
    assert.equal(await panel.getByLabel('Start').inputValue(), '10:00');
    assert.equal(await panel.getByLabel('End').inputValue(), '10:45');
    await panel.getByLabel('Location').fill(room);
    const created = clinic.waitForResponse((r) => r.url().endsWith('/api/v1/appointments') && r.request().method() === 'POST');
    await panel.getByRole('button', { name: 'Book appointment' }).click();
    const response = await created;
    assert.equal(response.status(), 201);
    const { id } = await response.json();

    // The calendar shows it and opens its details.
    await clinic.locator(`[data-testid=calendar-appointment][data-id="${id}"][data-status=scheduled]`).waitFor();
    await clinic.getByTestId('appointment-panel').getByText(room).waitFor();

    // The patient's portal lists it, live.
    const row = portal.getByTestId('my-appointment').filter({ hasText: room });
    await row.waitFor({ timeout: 3000 });
    assert.equal(await row.getByTestId('appointment-status').getAttribute('data-status'), 'scheduled');
    assert.match(await row.innerText(), new RegExp(escape(provider.name)));
    assert.equal(await portal.evaluate(() => window.__notReloaded), true, 'the portal was not reloaded');
    await clinic.context().close();
    await portal.context().close();
  });

  test('a patient cancels in the portal; an open dashboard shows it cancelled and alerts staff', async () => {
    const email = 'patient5@harbour-physio.test';
    const { staff, timeZone, provider, patient } = await setUp(email);
    const date = farDay();
    const room = `Room ${uniqueSuffix()}`;
    const booked = await apiCall(staff, 'POST', '/appointments', {
      patient_id: patient.id,
      provider_id: provider.id,
      starts_at: zoned(date, 11 * 60, timeZone),
      ends_at: zoned(date, 11 * 60 + 45, timeZone),
      location: room,
    });

    const clinic = await newPage(browser);
    await openCalendar(clinic, date);
    const block = clinic.locator(`[data-testid=calendar-appointment][data-id="${booked.id}"]`);
    await block.waitFor();
    assert.equal(await block.getAttribute('data-status'), 'scheduled');
    await clinic.evaluate(() => {
      window.__notReloaded = true;
    });

    const portal = await newPage(browser);
    await openMyAppointments(portal, email);
    const row = portal.getByTestId('my-appointment').filter({ hasText: room });
    await row.getByRole('button', { name: 'Cancel' }).click();
    const dialog = portal.getByRole('alertdialog', { name: 'Confirm cancellation' });
    await dialog.getByLabel('Reason (optional)').fill('Feeling better');
    await dialog.getByRole('button', { name: 'Yes, cancel it' }).click();
    await portal
      .getByTestId('my-appointment')
      .filter({ hasText: room })
      .locator('[data-testid=appointment-status][data-status=cancelled]')
      .waitFor();

    // The dashboard follows, live, and tells staff the patient cancelled.
    await clinic.locator(`[data-testid=calendar-appointment][data-id="${booked.id}"][data-status=cancelled]`).waitFor({ timeout: 3000 });
    const alert = clinic.locator(`[data-testid=appointment-alert][data-id="${booked.id}"]`);
    await alert.waitFor();
    assert.match(await alert.innerText(), new RegExp(`${escape(patient.first_name)} ${escape(patient.last_name)} cancelled`));
    assert.match(await alert.innerText(), /Feeling better/);
    assert.equal(await clinic.evaluate(() => window.__notReloaded), true, 'the dashboard was not reloaded');
    await alert.getByRole('button', { name: 'Dismiss alert' }).click();
    await alert.waitFor({ state: 'detached' });
    await clinic.context().close();
    await portal.context().close();
  });

  test('booking a provider who is already booked shows the conflict next to the time', async () => {
    const email = 'patient3@harbour-physio.test';
    const { staff, timeZone, provider, patient } = await setUp(email);
    const date = farDay();
    await apiCall(staff, 'POST', '/appointments', {
      patient_id: patient.id,
      provider_id: provider.id,
      starts_at: zoned(date, 10 * 60, timeZone),
      ends_at: zoned(date, 10 * 60 + 45, timeZone),
    });

    const clinic = await newPage(browser);
    await openCalendar(clinic, date);
    const day = await dayLabel(clinic, date);
    // 09:30–10:15 overlaps 10:00–10:45.
    await clinic.getByRole('button', { name: new RegExp(`^Book ${escape(provider.name)} on ${escape(day)} at 09:30$`) }).click();
    const panel = clinic.getByTestId('booking-panel');
    await panel.getByLabel('Patient').fill(patient.last_name);
    await panel.getByRole('button', { name: new RegExp(`${escape(patient.first_name)} ${escape(patient.last_name)}`) }).first().click();
    const answer = clinic.waitForResponse((r) => r.url().endsWith('/api/v1/appointments') && r.request().method() === 'POST');
    await panel.getByRole('button', { name: 'Book appointment' }).click();
    assert.equal((await answer).status(), 409);
    const message = `${provider.name} is already booked at that time`;
    await panel.getByText(message).waitFor();
    // Said under the start time, which is marked invalid.
    assert.equal(await panel.getByLabel('Start').getAttribute('aria-invalid'), 'true');
    const described = await panel.getByLabel('Start').getAttribute('aria-describedby');
    assert.ok(described && (await clinic.locator(`[id="${described.split(' ').pop()}"]`).innerText()).includes(message));
    // Moving the start clears the message; 11:00 is free.
    await panel.getByLabel('Start').fill('11:00');
    assert.equal(await panel.getByText(message).count(), 0);
    assert.equal(await panel.getByLabel('End').inputValue(), '11:45');
    await clinic.context().close();
  });

  test('a patient’s request alerts an open dashboard; staff accept it and the portal follows live', async (t) => {
    const email = 'patient2@harbour-physio.test';
    const { staff, provider, patient } = await setUp(email);
    const settings = await apiCall(staff, 'GET', '/clinic/settings');
    if (settings.self_booking !== 'request') {
      t.skip(`the clinic's self-booking mode is ${settings.self_booking}, not request (the demo default)`);
      return;
    }
    const date = farDay();
    const reason = `Knee check ${uniqueSuffix()}`;

    const clinic = await newPage(browser);
    await openCalendar(clinic, date);

    const portal = await newPage(browser);
    await openMyAppointments(portal, email);
    const form = portal.getByRole('form', { name: 'Book an appointment' });
    await form.getByLabel('Who would you like to see?').selectOption(provider.id);
    await form.getByLabel('Day').fill(date);
    await form.getByLabel('Preferred time').fill('14:00');
    await form.getByLabel('Reason for the visit (optional)').fill(reason);
    const sent = portal.waitForResponse((r) => r.url().endsWith('/api/v1/appointments') && r.request().method() === 'POST');
    await form.getByRole('button', { name: 'Request appointment' }).click();
    const response = await sent;
    assert.equal(response.status(), 201);
    const { id } = await response.json();
    await portal.getByTestId('booking-done').waitFor();
    const mine = portal.locator(`[data-testid=my-appointment][data-id="${id}"]`);
    assert.equal(await mine.getByTestId('appointment-status').getAttribute('data-status'), 'requested');

    // Staff are alerted and see it in the calendar as requested.
    const alert = clinic.locator(`[data-testid=appointment-alert][data-id="${id}"]`);
    await alert.waitFor({ timeout: 3000 });
    assert.match(await alert.innerText(), new RegExp(`${escape(patient.first_name)} ${escape(patient.last_name)} requested`));
    await alert.getByRole('link', { name: 'Review request' }).click();
    const panel = clinic.getByTestId('appointment-panel');
    await panel.locator('[data-testid=appointment-status][data-status=requested]').waitFor();
    await panel.getByText(reason).waitFor();
    // Only the moves the workflow allows from "requested" are offered.
    assert.equal(await panel.getByRole('button', { name: 'Check in' }).count(), 0);
    await panel.getByRole('button', { name: 'Accept request' }).click();
    await panel.locator('[data-testid=appointment-status][data-status=scheduled]').waitFor();

    // The portal follows.
    await mine.locator('[data-testid=appointment-status][data-status=scheduled]').waitFor({ timeout: 3000 });
    await clinic.context().close();
    await portal.context().close();
  });
});
