// Add multiple users: a user admin uploads a CSV file of 500 users in the columns of Microsoft
// 365's bulk-add template, 3 of them bad; 497 are created, the 3 are explained row by row, and
// the generated passwords download once and work (the new users must change them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { useHarness } from '../lib/harness.js';
import { clickAndLoad, errorBox, pathOf, signIn, submitLogin } from '../lib/pages.js';
import { auditLog, openAdminCenter, postFromPage } from '../lib/admin.js';

const h = useHarness({
  users: {
    admin: { upn: 'ingrid.admin@example.org', displayName: 'Ingrid Admin', password: 'lantern-meadow-cobalt-7734', roles: ['user-admin'] },
    existing: { upn: 'person250@example.org', displayName: 'Already Here', password: 'pebble-harvest-quartz-1186' },
  },
});

const header = 'User name,First name,Last name,Display name,Job title,Department,Office number,Office phone,Mobile phone,Fax,Alternate email address,Address,City,State or province,ZIP or postal code,Country or region';

/** The bad rows, by line (the header is line 1), with what their explanation must say. */
const bad = {
  101: { upn: 'not-a-user-name', reason: /name@domain/ },
  202: { upn: 'PERSON003@example.org', reason: /person003@example\.org is in the file twice: line 3 has it already/ },
  250: { upn: 'person250@example.org', reason: /A user named person250@example\.org already exists/ },
};

function csvOf500() {
  const lines = [header];
  for (let line = 2; line <= 501; line++) {
    const upn = bad[line]?.upn ?? `person${String(line).padStart(3, '0')}@example.org`;
    lines.push(`${upn},Person,Number ${line},,Clerk,Sales,,,,,,,Utrecht,,,Netherlands`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

test('CSV import of 500 users with 3 bad rows: 497 created, 3 explained, passwords downloaded once', async () => {
  const page = await h.newPage({ locale: 'en-GB' });
  await signIn(page, h.users.admin);
  await openAdminCenter(page);
  await clickAndLoad(page, page.locator('#add-multiple-users'));
  assert.equal(pathOf(page), '/admin/users/import');
  await page.getByRole('heading', { level: 1, name: 'Add multiple users' }).waitFor();
  assert.equal(await page.locator('nav.adminnav [data-nav=import]').getAttribute('aria-current'), 'page');

  await page.locator('#import-file').setInputFiles({ name: 'users.csv', mimeType: 'text/csv', buffer: Buffer.from(csvOf500()) });
  assert.equal(await page.getByLabel('Require these users to change their password when they first sign in').isChecked(), true);
  await clickAndLoad(page, page.locator('form[data-form=import-users] button[type=submit]'));
  assert.equal(pathOf(page), '/admin/users/import');

  const summary = page.locator('#import-summary');
  assert.equal((await summary.innerText()).trim(), '497 created, 3 not created');
  assert.equal(await summary.getAttribute('data-created'), '497');
  assert.equal(await summary.getAttribute('data-failed'), '3');
  assert.equal(await page.locator('[data-import-row]').count(), 500);
  assert.equal(await page.locator('[data-import-row][data-result=created]').count(), 497);
  const failed = page.locator('[data-import-row][data-result=failed]');
  assert.deepEqual(await failed.evaluateAll((rows) => rows.map((r) => r.dataset.importRow)), Object.keys(bad));
  for (const [line, { reason }] of Object.entries(bad)) {
    const text = await page.locator(`[data-import-row="${line}"] [data-reason]`).innerText();
    assert.match(text, reason, `line ${line} is explained`);
  }
  const row42 = page.locator('[data-import-row="42"]');
  assert.equal(await row42.getAttribute('data-upn'), 'person042@example.org');
  assert.match(await row42.innerText(), /Person Number 42\s+Created/);

  // The passwords: one download of 497 rows, never on the page.
  const download = page.locator('#download-passwords');
  const [file] = await Promise.all([page.waitForEvent('download'), download.click()]);
  const csv = (await readFile(await file.path(), 'utf8')).trim().split(/\r?\n/);
  assert.equal(csv[0], 'User name,Display name,Password');
  assert.equal(csv.length, 1 + 497);
  const [upn, displayName, password] = csv.find((l) => l.startsWith('person042@example.org,')).split(',');
  assert.equal(displayName, 'Person Number 42');
  assert.ok(password.length >= 15);
  assert.equal((await page.content()).includes(password), false, 'the page never holds a password');

  // A second download is gone.
  const action = await page.locator('form[data-form=download-passwords]').getAttribute('action');
  const token = await page.locator('form[data-form=download-passwords] input[name=csrf_token]').inputValue();
  const again = await postFromPage(page, action, { csrf_token: token });
  assert.equal(again.status, 410);

  // The directory has them, and the audit log has 497 successes and 3 failures by this admin.
  const listed = JSON.parse((await h.portier.cli(['users', 'list', '--search', 'person', '--json'])).stdout).value;
  assert.equal(listed.length, 497 + 1, 'the 497 imported users and the one already there');
  assert.equal(listed.filter((u) => u.passwordProfile.forceChangePasswordNextSignIn).length, 497);
  const created = (await auditLog(h)).filter((e) => e.activity === 'user.create' && e.initiatedBy === h.users.admin.upn);
  assert.equal(created.filter((e) => e.result === 'success').length, 497);
  assert.deepEqual(created.filter((e) => e.result !== 'success').map((e) => e.result), ['failure', 'failure', 'failure']);
  assert.equal((await h.portier.showUser('person250@example.org')).displayName, 'Already Here', 'the existing user is untouched');

  // A new user signs in with the downloaded password and must change it.
  const user = await h.newPage({ locale: 'en-GB' });
  await submitLogin(user, upn, password);
  assert.equal(pathOf(user), '/change-password');
  await user.locator('[data-error-code="50055"]').waitFor();
  await submitLogin(user, 'not-a-user-name', password);
  assert.equal((await errorBox(user)).code, '50126');
});
