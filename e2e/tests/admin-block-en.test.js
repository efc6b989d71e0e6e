// In English: a user admin finds a user by searching as they type, blocks them through More
// actions > Edit sign-in status, which ends the user's open session at its next click and makes
// sign-in answer 50057; unblocking lets them in again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useHarness } from '../lib/harness.js';
import { clickAndLoad, errorBox, pathOf, signIn, submitLogin } from '../lib/pages.js';
import { auditLog, openAdminCenter, openUserFromRow, userPath, userRow } from '../lib/admin.js';

const h = useHarness({
  users: {
    admin: { upn: 'ursula.admin@example.org', displayName: 'Ursula Admin', password: 'granite-harbour-violet-5512', roles: ['user-admin'] },
    tom: { upn: 'tom.baker@example.org', displayName: 'Tom Baker', password: 'saffron-lighthouse-drizzle-3390' },
    tina: { upn: 'tina.brook@example.org', displayName: 'Tina Brook', password: 'maple-orbit-whistle-6671' },
  },
});

/** On a user's details page: More actions > Edit sign-in status, set the box, Save. */
async function editSignInStatus(page, upn, block) {
  const more = page.locator('details[data-menu=more-actions]');
  assert.equal(await more.evaluate((d) => d.open), false, 'More actions starts closed');
  const summary = more.locator('summary');
  assert.equal((await summary.innerText()).trim(), 'More actions');
  await summary.click();
  const edit = more.getByRole('link', { name: 'Edit sign-in status' });
  await edit.waitFor({ state: 'visible' });
  await clickAndLoad(page, edit);
  assert.equal(pathOf(page), `${userPath(upn)}/sign-in-status`);
  await page.getByRole('heading', { level: 1, name: 'Edit sign-in status' }).waitFor();
  const box = page.getByLabel('Block this user from signing in');
  assert.equal(await box.isChecked(), !block, 'the box shows the current state');
  await box.setChecked(block);
  await clickAndLoad(page, page.getByRole('button', { name: 'Save' }));
  assert.equal(pathOf(page), `${userPath(upn)}?done=${block ? 'blocked' : 'unblocked'}`);
}

test('en: a user admin blocks a user, whose session ends and whose sign-in gets 50057; unblocking lets them in', async () => {
  const tom = h.users.tom;
  // Tom is signed in on his laptop before the admin acts.
  const laptop = await h.newPage({ locale: 'en-GB' });
  await signIn(laptop, tom);

  const admin = await h.newPage({ locale: 'en-GB' });
  await signIn(admin, h.users.admin);
  await openAdminCenter(admin);
  await admin.getByRole('heading', { level: 1, name: 'Active users' }).waitFor();

  // Search as you type: the list narrows to Tom without a page load.
  const before = admin.url();
  await admin.getByLabel('Search users').pressSequentially('tom.b');
  // The results are swapped in and then the address replaced, for the last text typed only.
  await admin.waitForFunction(() => window.location.search === '?q=tom.b');
  assert.equal(await admin.locator('#user-results tr[data-user]').count(), 1);
  assert.equal(await userRow(admin, tom.upn).count(), 1);
  assert.equal(await userRow(admin, h.users.tina.upn).count(), 0, 'Tina is filtered out');
  assert.notEqual(admin.url(), before, 'the address follows the search');
  assert.equal(pathOf(admin), '/admin/users?q=tom.b');
  assert.equal(await userRow(admin, tom.upn).getAttribute('data-status'), 'active');
  await openUserFromRow(admin, tom.upn);
  await admin.getByRole('heading', { level: 1, name: 'Tom Baker' }).waitFor();

  await editSignInStatus(admin, tom.upn, true);
  assert.equal((await admin.locator('[data-notice]').innerText()).trim(), 'The user is blocked from signing in and has been signed out everywhere.');
  assert.equal(await admin.locator('[data-account-enabled]').getAttribute('data-account-enabled'), 'false');
  await admin.locator('[data-status-badge=blocked]').waitFor();
  assert.equal((await h.portier.showUser(tom.upn)).accountEnabled, false);

  // Tom's open page still shows his account; his next click lands on the sign-in form.
  await clickAndLoad(laptop, laptop.getByRole('navigation').getByRole('link', { name: 'My account' }));
  assert.equal(pathOf(laptop), '/login?return_to=%2Fmyaccount&done=ended');
  // The right password is answered 50057.
  await submitLogin(laptop, tom.upn, tom.password, { open: false });
  assert.equal(new URL(laptop.url()).pathname, '/login');
  const err = await errorBox(laptop);
  assert.equal(err.code, '50057');
  assert.match(err.text, /blocked/i);

  // The Sign-in blocked filter lists him.
  await clickAndLoad(admin, admin.locator('nav.adminnav [data-nav=users]'));
  await clickAndLoad(admin, admin.locator('nav.filters a[data-filter=blocked]'));
  assert.equal(pathOf(admin), '/admin/users?filter=blocked');
  assert.equal(await userRow(admin, tom.upn).getAttribute('data-status'), 'blocked');
  assert.equal(await admin.locator('tr[data-user]').count(), 1);

  // Unblock: the same menu, the box unticked.
  await openUserFromRow(admin, tom.upn);
  await editSignInStatus(admin, tom.upn, false);
  assert.equal((await admin.locator('[data-notice]').innerText()).trim(), 'The user may sign in.');
  assert.equal(await admin.locator('[data-account-enabled]').getAttribute('data-account-enabled'), 'true');
  assert.equal(await admin.locator('[data-status-badge=blocked]').count(), 0);

  await signIn(laptop, tom);
  await laptop.getByRole('heading', { level: 1, name: 'My account' }).waitFor();

  const entries = (await auditLog(h)).filter((e) => e.target === tom.upn && e.initiatedBy === h.users.admin.upn);
  assert.deepEqual(entries.map((e) => `${e.activity} ${e.result}`), ['user.unblock success', 'user.block success']);
});
