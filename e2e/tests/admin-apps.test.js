// In English: a global admin registers an OpenID Connect application in the admin center,
// copies its client secret from the page that shows it once, assigns a user to it, edits and
// deletes it; axe-core finds no serious or critical violation on any of the Applications pages.
// A user admin is neither offered nor let into the section.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useHarness } from '../lib/harness.js';
import { axeViolations, describeViolations } from '../lib/axe.js';
import { clickAndLoad, pathOf, signIn } from '../lib/pages.js';
import { auditLog, openAdminCenter } from '../lib/admin.js';

const h = useHarness({
  users: {
    boss: { upn: 'greta.global@example.org', displayName: 'Greta Global', password: 'copper-meadow-lantern-8841', roles: ['global-admin'] },
    ursula: { upn: 'ursula.admin@example.org', displayName: 'Ursula Admin', password: 'granite-harbour-violet-5512', roles: ['user-admin'] },
    tom: { upn: 'tom.baker@example.org', displayName: 'Tom Baker', password: 'saffron-lighthouse-drizzle-3390' },
  },
});

async function assertAccessible(page, what) {
  const violations = await axeViolations(page);
  assert.equal(violations.length, 0, `axe-core on ${what}:\n${describeViolations(violations)}`);
}

/** The applications as `portier apps list --json` prints them. */
async function appsFromCLI() {
  const { stdout } = await h.portier.cli(['apps', 'list', '--json']);
  const doc = JSON.parse(stdout);
  return Array.isArray(doc) ? doc : doc.value;
}

test('en: a global admin registers an application, copies its secret once, assigns a user, edits and deletes it', async () => {
  const page = await h.newPage({ locale: 'en-GB', permissions: ['clipboard-read', 'clipboard-write'] });
  await signIn(page, h.users.boss);
  await openAdminCenter(page);

  const nav = page.locator('nav.adminnav [data-nav=apps]');
  assert.equal((await nav.innerText()).trim(), 'Applications');
  await clickAndLoad(page, nav);
  assert.equal(pathOf(page), '/admin/apps');
  await page.getByRole('heading', { level: 1, name: 'Applications' }).waitFor();
  assert.equal(await nav.getAttribute('aria-current'), 'page');
  await page.locator('[data-empty]').waitFor();
  await assertAccessible(page, 'the empty Applications page');

  await clickAndLoad(page, page.getByRole('link', { name: 'Register an application' }));
  assert.equal(pathOf(page), '/admin/apps/new');
  await assertAccessible(page, 'the Register an application form');
  await page.getByLabel('Name', { exact: true }).fill('Payroll');
  await page.getByLabel('Redirect URIs', { exact: true }).fill('https://payroll.example.org/callback\nhttp://localhost:8400/callback');
  await page.getByLabel('Only assigned users may sign in').check();
  assert.equal(await page.getByLabel(/^Public client/).isChecked(), false, 'a confidential client by default');
  await clickAndLoad(page, page.getByRole('button', { name: 'Register' }));

  // The secret, once, with a copy button that script shows.
  await page.getByRole('heading', { level: 1, name: 'Application registered' }).waitFor();
  const secret = await page.locator('#client-secret').inputValue();
  const clientId = await page.locator('#client-id').inputValue();
  assert.match(secret, /^[A-Za-z0-9_-]{43}$/, 'a 256-bit secret, base64url');
  const copy = page.getByRole('button', { name: 'Copy secret' });
  await copy.waitFor({ state: 'visible' });
  await copy.click();
  await page.getByRole('button', { name: 'Copied' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret, 'the clipboard holds the secret');
  await assertAccessible(page, 'the page showing the client secret');

  const [app] = (await appsFromCLI()).filter((a) => a.displayName === 'Payroll');
  assert.equal(app?.clientId, clientId);
  assert.deepEqual(app.redirectUris, ['https://payroll.example.org/callback', 'http://localhost:8400/callback']);
  assert.equal(app.appRoleAssignmentRequired, true);
  assert.equal(app.publicClient, false);

  // The application's page never shows the secret again.
  await clickAndLoad(page, page.getByRole('link', { name: 'Go to Payroll' }));
  assert.equal(pathOf(page), `/admin/apps/${clientId}`);
  await page.getByRole('heading', { level: 1, name: 'Payroll' }).waitFor();
  assert.equal((await page.content()).includes(secret), false, 'the secret is shown only once');
  assert.equal(await page.locator('[data-client-type]').getAttribute('data-client-type'), 'confidential');
  await assertAccessible(page, 'an application\'s page');

  // Only assigned users may sign in: assign Tom by his user name.
  await page.getByLabel('Assign a user (user name)').fill(h.users.tom.upn);
  await clickAndLoad(page, page.getByRole('button', { name: 'Assign', exact: true }));
  assert.equal(pathOf(page), `/admin/apps/${clientId}?done=assigned`);
  assert.equal((await page.locator('[data-notice]').innerText()).trim(), 'The user has been assigned.');
  await page.locator(`tr[data-assigned-user="${h.users.tom.upn}"]`).waitFor();
  await assertAccessible(page, 'an application\'s page with an assigned user');

  // A user name that does not exist is answered on the same page.
  await page.getByLabel('Assign a user (user name)').fill('nobody@example.org');
  await clickAndLoad(page, page.getByRole('button', { name: 'Assign', exact: true }));
  const err = page.locator('[data-error-code][role=alert]');
  assert.equal((await err.innerText()).trim(), 'There is no user named nobody@example.org.');
  await assertAccessible(page, 'an application\'s page with an error');

  // Edit: the name and a second redirect URI list.
  await clickAndLoad(page, page.getByRole('link', { name: 'Edit application' }));
  assert.equal(pathOf(page), `/admin/apps/${clientId}/edit`);
  await assertAccessible(page, 'the Edit application form');
  await page.getByLabel('Name', { exact: true }).fill('Payroll (new)');
  await page.getByLabel('Redirect URIs', { exact: true }).fill('https://payroll.example.org/callback');
  await clickAndLoad(page, page.getByRole('button', { name: 'Save' }));
  assert.equal(pathOf(page), `/admin/apps/${clientId}?done=saved`);
  await page.getByRole('heading', { level: 1, name: 'Payroll (new)' }).waitFor();
  assert.deepEqual((await appsFromCLI()).find((a) => a.clientId === clientId).redirectUris, ['https://payroll.example.org/callback']);

  // Remove Tom again.
  await clickAndLoad(page, page.getByRole('button', { name: 'Remove Tom Baker' }));
  assert.equal(pathOf(page), `/admin/apps/${clientId}?done=unassigned`);
  assert.equal(await page.locator('tr[data-assigned-user]').count(), 0);

  // Delete, after a confirmation page.
  await clickAndLoad(page, page.getByRole('link', { name: 'Delete application' }));
  assert.equal(pathOf(page), `/admin/apps/${clientId}/delete`);
  await assertAccessible(page, 'the Delete application page');
  await clickAndLoad(page, page.getByRole('button', { name: 'Delete', exact: true }));
  assert.equal(pathOf(page), '/admin/apps?done=deleted');
  assert.equal((await page.locator('[data-notice]').innerText()).trim(), 'The application has been deleted.');
  assert.equal(await page.locator(`tr[data-app="${clientId}"]`).count(), 0);
  assert.equal((await appsFromCLI()).some((a) => a.clientId === clientId), false);

  const entries = (await auditLog(h)).filter((e) => e.initiatedBy === h.users.boss.upn && e.activity.startsWith('app.'));
  assert.deepEqual(entries.map((e) => `${e.activity} ${e.result}`),
    ['app.delete success', 'app.assign success', 'app.update success', 'app.assign failure', 'app.assign success', 'app.create success']);
  assert.equal(JSON.stringify(entries).includes(secret), false, 'the audit log never holds the secret');
});

test('en: a user admin is not offered Applications and gets the 403 page there', async () => {
  const page = await h.newPage({ locale: 'en-GB' });
  await signIn(page, h.users.ursula);
  await openAdminCenter(page);
  assert.equal(await page.locator('nav.adminnav [data-nav=apps]').count(), 0);
  const resp = await page.goto('/admin/apps');
  assert.equal(resp.status(), 403);
  await page.locator('[data-error=forbidden]').waitFor();
});
