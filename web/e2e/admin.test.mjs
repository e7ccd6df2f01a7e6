// Admin screens (users, audit log, identity providers), the patient page's invite and delete,
// and accepting invitations in both apps. Every test makes its own users, patients and issuers
// (unique names) and never relies on how many of anything there are.
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
  userRow,
} from './helpers.mjs';

const ADMIN = 'admin@harbour-physio.test';
const STAFF = 'staff@harbour-physio.test';
const NEW_PASSWORD = 'e2e-chosen-password';

describe('admin screens and invitations', () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('an admin invites a staff user, who accepts the invitation and lands signed in', async (t) => {
    if (!databaseUrl) {
      t.skip(NO_DATABASE);
      return;
    }
    const suffix = uniqueSuffix();
    const email = `e2e-staff-${suffix}@example.test`;
    const name = `E2e Staff ${suffix}`;
    const page = await newPage(browser);
    await signIn(page, 'clinic', ADMIN);
    await page.getByRole('link', { name: 'Users' }).click();
    const form = page.getByRole('form', { name: 'Invite a user' });
    await form.getByLabel('Email', { exact: true }).fill(email);
    await form.getByLabel('Name', { exact: true }).fill(name);
    await form.getByLabel('Role', { exact: true }).selectOption('staff');
    await form.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText(`Invitation sent to ${email}.`).waitFor();
    const row = await userRow(page, email);
    await row.getByText('invited', { exact: true }).waitFor();
    await page.context().close();

    const token = await invitationTokenFor(email);
    const invited = await newPage(browser);
    await invited.goto(`${baseUrl}/clinic/accept-invite#token=${token}`);
    // Checked before anything is sent.
    await invited.getByLabel('New password', { exact: true }).fill('short');
    await invited.getByLabel('Confirm password', { exact: true }).fill('short');
    await invited.getByRole('button', { name: 'Set password and sign in' }).click();
    await invited.getByText('Use at least 10 characters.').waitFor();
    await invited.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await invited.getByLabel('Confirm password', { exact: true }).fill(`${NEW_PASSWORD}x`);
    await invited.getByRole('button', { name: 'Set password and sign in' }).click();
    await invited.getByText('The passwords do not match.').waitFor();
    await invited.getByLabel('Confirm password', { exact: true }).fill(NEW_PASSWORD);
    await invited.getByRole('button', { name: 'Set password and sign in' }).click();
    await invited.getByRole('heading', { name: 'Patients', level: 1 }).waitFor();
    assert.equal(new URL(invited.url()).pathname, '/clinic/patients');
    assert.equal(new URL(invited.url()).hash, '', 'the token is gone from the address');
    assert.match(await invited.getByTestId('current-user').innerText(), new RegExp(name));
    // A staff user: no administration in the nav.
    assert.equal(await invited.getByRole('link', { name: 'Users' }).count(), 0);
    // The link works once.
    await invited.goto(`${baseUrl}/clinic/accept-invite#token=${token}`);
    await invited.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await invited.getByLabel('Confirm password', { exact: true }).fill(NEW_PASSWORD);
    await invited.getByRole('button', { name: 'Set password and sign in' }).click();
    await invited.getByText('This invitation link is invalid, already used or expired.').waitFor();
    await invited.context().close();

    // And the new password signs in from the login form.
    const again = await newPage(browser);
    await signIn(again, 'clinic', email, { password: NEW_PASSWORD });
    await again.getByRole('heading', { name: 'Patients', level: 1 }).waitFor();
    await again.context().close();
  });

  test('a patient invited from their record accepts in the portal', async (t) => {
    if (!databaseUrl) {
      t.skip(NO_DATABASE);
      return;
    }
    const suffix = uniqueSuffix();
    const email = `e2e-patient-${suffix}@example.test`;
    const token = await apiToken(STAFF);
    const patient = await apiCall(token, 'POST', '/patients', {
      first_name: 'E2e',
      last_name: `Invitee${suffix}`,
      date_of_birth: '1975-06-07',
      email,
    });
    const page = await newPage(browser);
    await signIn(page, 'clinic', STAFF);
    await page.getByTestId('patient-row').first().waitFor();
    await page.goto(`${baseUrl}/clinic/patients/${patient.id}`);
    await page.getByRole('button', { name: 'Invite to portal' }).click();
    await page.getByText(`Invitation sent to ${email}.`).waitFor();
    await page.context().close();

    const invite = await invitationTokenFor(email);
    const portal = await newPage(browser);
    await portal.goto(`${baseUrl}/portal/accept-invite#token=${invite}`);
    await portal.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await portal.getByLabel('Confirm password', { exact: true }).fill(NEW_PASSWORD);
    await portal.getByRole('button', { name: 'Set password and sign in' }).click();
    // A new patient agrees to the clinic's required consents first.
    const gate = portal.getByTestId('consent-gate');
    await gate.waitFor();
    for (const box of await gate.getByRole('checkbox').all()) await box.check();
    await portal.getByRole('button', { name: 'Agree and continue' }).click();
    await portal.getByTestId('my-name').filter({ hasText: `Invitee${suffix}` }).waitFor();
    assert.equal(new URL(portal.url()).pathname, '/portal/me');
    await portal.context().close();

    // Inviting again once they have a login is refused with a clear message.
    const clinic = await newPage(browser);
    await signIn(clinic, 'clinic', STAFF);
    await clinic.getByTestId('patient-row').first().waitFor();
    await clinic.goto(`${baseUrl}/clinic/patients/${patient.id}`);
    await clinic.getByRole('button', { name: 'Invite to portal' }).click();
    await clinic.getByText('This patient already has a portal login.').waitFor();
    await clinic.context().close();
  });

  test('the portal refuses an invitation accepted by clinic staff', async (t) => {
    if (!databaseUrl) {
      t.skip(NO_DATABASE);
      return;
    }
    const suffix = uniqueSuffix();
    const email = `e2e-wrong-app-${suffix}@example.test`;
    await apiCall(await apiToken(ADMIN), 'POST', '/users', { email, name: `E2e Wrong ${suffix}`, role: 'staff' });
    const page = await newPage(browser);
    await page.goto(`${baseUrl}/portal/accept-invite#token=${await invitationTokenFor(email)}`);
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Confirm password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.getByText('This portal is for patients. Clinic staff use the clinic dashboard at /clinic/.').waitFor();
    assert.equal(await page.getByTestId('my-name').count(), 0);
    await page.getByRole('button', { name: 'Go to sign in' }).click();
    await page.getByLabel('Password', { exact: true }).waitFor();
    await page.context().close();
  });

  test('a bad or missing invitation token is explained', async () => {
    const page = await newPage(browser);
    await page.goto(`${baseUrl}/clinic/accept-invite#token=not-a-real-token`);
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Confirm password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.getByText('This invitation link is invalid, already used or expired.').waitFor();
    await page.goto(`${baseUrl}/portal/accept-invite`);
    await page.getByText('This invitation link is invalid, already used or expired.').waitFor();
    assert.equal(await page.getByLabel('New password', { exact: true }).count(), 0);
    await page.context().close();
  });

  test('the invite form shows the server’s field errors', async () => {
    const page = await newPage(browser);
    await signIn(page, 'clinic', ADMIN);
    await page.getByRole('link', { name: 'Users' }).click();
    const form = page.getByRole('form', { name: 'Invite a user' });
    // 409: the email is taken.
    await form.getByLabel('Email', { exact: true }).fill(STAFF);
    await form.getByLabel('Name', { exact: true }).fill('Someone');
    await form.getByRole('button', { name: 'Send invitation' }).click();
    await form.locator('.field--invalid').filter({ hasText: 'Email' }).locator('.field__error').waitFor();
    // 422: not an email, no name.
    await form.getByLabel('Email', { exact: true }).fill('not-an-email');
    await form.getByLabel('Name', { exact: true }).fill('');
    await form.getByRole('button', { name: 'Send invitation' }).click();
    await form.locator('.field--invalid').filter({ hasText: 'Name' }).locator('.field__error').waitFor();
    await form.locator('.field--invalid').filter({ hasText: 'Email' }).locator('.field__error').waitFor();
    await page.context().close();
  });

  test('an admin changes a user’s role, disables and enables them, and links an external subject', async () => {
    const suffix = uniqueSuffix();
    const email = `e2e-role-${suffix}@example.test`;
    const name = `E2e Role ${suffix}`;
    await apiCall(await apiToken(ADMIN), 'POST', '/users', { email, name, role: 'staff' });
    const page = await newPage(browser);
    await signIn(page, 'clinic', ADMIN);
    await page.getByRole('link', { name: 'Users' }).click();
    let row = await userRow(page, email);
    await row.getByText('invited', { exact: true }).waitFor();
    await row.getByLabel(`Role of ${name}`).selectOption('admin');
    await page.waitForFunction(
      (label) => document.querySelector(`select[aria-label="${label}"]`)?.value === 'admin' &&
        !document.querySelector(`select[aria-label="${label}"]`)?.disabled,
      `Role of ${name}`,
    );
    await row.getByRole('button', { name: `Disable ${name}` }).click();
    await row.getByText('disabled', { exact: true }).waitFor();
    await row.getByRole('button', { name: `Enable ${name}` }).click();
    await row.getByRole('button', { name: `Disable ${name}` }).waitFor();
    await row.getByRole('button', { name: `Edit ${name}` }).click();
    const edit = page.getByRole('form', { name: `Edit ${name}` });
    await edit.getByLabel('External subject', { exact: true }).fill(`sub-${suffix}`);
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'detached' });
    await row.getByText('external sign-in').waitFor();

    // What the server now holds, after a reload.
    await page.reload();
    row = await userRow(page, email);
    assert.equal(await row.getByLabel(`Role of ${name}`).inputValue(), 'admin');
    await row.getByRole('button', { name: `Disable ${name}` }).waitFor();
    await page.context().close();
  });

  test('an admin sees the audit log with entries, filters it and finds the chain intact', async () => {
    const page = await newPage(browser);
    await signIn(page, 'clinic', ADMIN);
    await page.getByTestId('patient-row').first().waitFor();
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    await page.getByTestId('audit-row').first().waitFor();
    await page.getByRole('button', { name: 'Verify chain' }).click();
    const status = page.getByTestId('chain-status');
    await status.waitFor();
    assert.match(await status.innerText(), /Chain intact/);

    // Our own sign-in a moment ago is there when filtering by action.
    const filters = page.getByRole('search', { name: 'Audit filters' });
    await filters.getByLabel('Action', { exact: true }).fill('auth.login');
    await filters.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL((url) => url.searchParams.get('action') === 'auth.login');
    await page.getByTestId('audit-row').first().waitFor();
    for (const row of await page.getByTestId('audit-row').all()) {
      assert.match(await row.innerText(), /auth\.login\b/);
    }
    // A range that ends before it began is caught in the form.
    await filters.getByLabel('From', { exact: true }).fill('2030-01-02');
    await filters.getByLabel('To', { exact: true }).fill('2030-01-01');
    await filters.getByRole('button', { name: 'Apply filters' }).click();
    await filters.getByText('The last day is before the first.').waitFor();
    // A range in the future has nothing.
    await filters.getByLabel('To', { exact: true }).fill('2030-01-03');
    await filters.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No entries match.').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByTestId('audit-row').first().waitFor();
    await page.context().close();
  });

  test('admins see a patient’s access log; staff do not', async () => {
    const page = await newPage(browser);
    await signIn(page, 'clinic', ADMIN);
    await page.getByTestId('patient-row').first().getByRole('link').click();
    await page.getByRole('heading', { name: 'Access log' }).waitFor();
    // Opening the page was itself logged.
    await page.getByRole('table', { name: 'Access log' }).getByText('patient.read').first().waitFor();
    await page.context().close();

    const staff = await newPage(browser);
    await signIn(staff, 'clinic', STAFF);
    await staff.getByTestId('patient-row').first().getByRole('link').click();
    await staff.getByRole('heading', { name: 'Conditions', exact: true }).waitFor();
    assert.equal(await staff.getByRole('heading', { name: 'Access log' }).count(), 0);
    await staff.context().close();
  });

  test('a staff user sees no administration and is told the pages are for admins', async () => {
    const page = await newPage(browser);
    await signIn(page, 'clinic', STAFF);
    await page.getByTestId('patient-row').first().waitFor();
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const label of ['Users', 'Audit log', 'Identity providers']) {
      assert.equal(await nav.getByRole('link', { name: label }).count(), 0, `${label} is not in the nav`);
    }
    await page.goto(`${baseUrl}/clinic/users`);
    await page.getByText('Only clinic admins can manage users.').waitFor();
    await page.goto(`${baseUrl}/clinic/audit`);
    await page.getByText('Only clinic admins can see the audit log.').waitFor();
    await page.goto(`${baseUrl}/clinic/identity-providers`);
    await page.getByText('Only clinic admins can manage identity providers.').waitFor();
    await page.context().close();
  });

  test('the patient page invites only with an email, and deletes after confirmation', async () => {
    const suffix = uniqueSuffix();
    const token = await apiToken(STAFF);
    const patient = await apiCall(token, 'POST', '/patients', {
      first_name: 'E2e',
      last_name: `Delete${suffix}`,
      date_of_birth: '1969-09-09',
    });
    const page = await newPage(browser);
    await signIn(page, 'clinic', STAFF);
    await page.getByTestId('patient-row').first().waitFor();
    await page.goto(`${baseUrl}/clinic/patients/${patient.id}`);
    await page.getByRole('button', { name: 'Invite to portal' }).click();
    await page.getByRole('alert').filter({ hasText: /no email/i }).waitFor();

    await page.getByRole('button', { name: 'Delete patient' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByTestId('patient-name').waitFor();
    await page.getByRole('button', { name: 'Delete patient' }).click();
    await page.getByRole('button', { name: 'Yes, delete patient' }).click();
    await page.waitForURL((url) => url.pathname === '/clinic/patients');
    await page.getByLabel('Search patients').fill(`Delete${suffix}`);
    await page.getByText(`No patients match “Delete${suffix}”.`).waitFor();
    await page.context().close();
  });

  test('an admin reads an invitation in the mailbox; staff cannot open it', async () => {
    const email = `e2e-mailbox-${uniqueSuffix()}@example.test`;
    await apiCall(await apiToken(ADMIN), 'POST', '/users', { email, name: 'Mailbox Reader', role: 'staff' });
    const page = await newPage(browser);
    await signIn(page, 'clinic', ADMIN);
    await page.getByRole('link', { name: 'Mailbox' }).click();
    await page.getByLabel('Recipient', { exact: true }).fill(email);
    const row = page.getByTestId('email-row').filter({ hasText: email });
    await row.waitFor();
    assert.equal(await page.getByTestId('email-row').count(), 1, 'only the filtered recipient');
    assert.equal(await row.getAttribute('data-kind'), 'invitation');
    await row.getByRole('button').click();
    await page.getByTestId('email-text').filter({ hasText: 'accept-invite#token=' }).waitFor();
    await page.context().close();

    const staff = await newPage(browser);
    await signIn(staff, 'clinic', STAFF);
    await staff.getByTestId('patient-row').first().waitFor();
    assert.equal(await staff.getByRole('link', { name: 'Mailbox' }).count(), 0);
    await staff.goto(`${baseUrl}/clinic/mailbox`);
    await staff.getByText("Only clinic admins can read the clinic's outgoing mail.").waitFor();
    await staff.context().close();
  });

  test('an admin adds and removes an identity provider', async () => {
    const suffix = uniqueSuffix();
    const issuer = `https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_e2e${suffix}`;
    const page = await newPage(browser);
    await signIn(page, 'clinic', ADMIN);
    await page.getByRole('link', { name: 'Identity providers' }).click();
    await page.getByText('cognito-idp.<region>.amazonaws.com/<pool id>').first().waitFor();
    const form = page.getByRole('form', { name: 'Add an identity provider' });
    const add = async () => {
      await form.getByLabel('Issuer', { exact: true }).fill(issuer);
      await form.getByLabel('Audience', { exact: true }).fill(`client${suffix}`);
      await form.getByLabel('JWKS URL', { exact: true }).fill(`${issuer}/.well-known/jwks.json`);
      await form.getByRole('button', { name: 'Add identity provider' }).click();
    };
    await add();
    await form.getByText('Identity provider added.').waitFor();
    const row = page.getByTestId('idp-row').filter({ hasText: issuer });
    await row.waitFor();
    // The same issuer twice: the server's 409 is shown under the field.
    await add();
    await form.locator('.field--invalid').filter({ hasText: 'Issuer' }).locator('.field__error').waitFor();
    await row.getByRole('button', { name: `Remove ${issuer}` }).click();
    await row.getByRole('button', { name: 'Yes, remove' }).click();
    await row.waitFor({ state: 'detached' });
    await page.context().close();
  });
});
