// The unlock procedure on a phone (390 x 844, touch): a user admin opens the admin center's
// menu, finds the locked-out user under Active users > Locked, unlocks them, blocks and unblocks
// their sign-in through More actions > Edit sign-in status, and resets their password in the
// dialog. Every page on the way is checked for sideways scrolling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useHarness } from '../lib/harness.js';
import { clickAndLoad, errorBox, pathOf, signIn, submitLogin } from '../lib/pages.js';
import { lockOut, userPath, userRow } from '../lib/admin.js';

const h = useHarness({
  users: {
    admin: { upn: 'uma.useradmin@example.org', displayName: 'Uma Useradmin', password: 'pocket-lantern-orchard-5521', roles: ['user-admin'] },
    noor: { upn: 'noor.bakker@example.org', displayName: 'Noor Bakker', password: 'quiet-harbour-pebble-8812' },
  },
});

const phone = { locale: 'en-GB', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

/** Fails when the current page scrolls sideways at the phone's width. */
async function fitsTheScreen(page, what) {
  const { scroll, inner } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
  assert.ok(scroll <= inner, `${what} (${pathOf(page)}) is ${scroll} px wide at ${inner} px`);
}

/** Opens the phone's admin menu and follows one of its links. */
async function fromMenu(page, nav) {
  const menu = page.locator('details.adminmenu');
  await menu.locator('summary').click();
  const link = menu.locator(`[data-nav=${nav}]`);
  await link.waitFor({ state: 'visible' });
  await clickAndLoad(page, link);
}

async function editSignInStatus(page, upn, block) {
  const more = page.locator('details[data-menu=more-actions]');
  await more.locator('summary').click();
  const edit = more.getByRole('link', { name: 'Edit sign-in status' });
  await edit.waitFor({ state: 'visible' });
  await clickAndLoad(page, edit);
  await fitsTheScreen(page, 'Edit sign-in status');
  await page.getByLabel('Block this user from signing in').setChecked(block);
  await clickAndLoad(page, page.getByRole('button', { name: 'Save' }));
  assert.equal(pathOf(page), `${userPath(upn)}?done=${block ? 'blocked' : 'unblocked'}`);
}

test('on a phone: a user admin unlocks, blocks and unblocks, and resets a locked-out user', async () => {
  const noor = h.users.noor;
  await lockOut(h, noor.upn);

  const admin = await h.newPage(phone);
  await signIn(admin, h.users.admin);
  assert.equal(pathOf(admin), '/admin', 'an admin lands on the admin center');
  await fitsTheScreen(admin, 'the admin home');
  assert.equal(await admin.locator('nav.adminnav').isVisible(), false, 'no sidebar on a phone');

  await fromMenu(admin, 'users');
  assert.equal(pathOf(admin), '/admin/users');
  await fitsTheScreen(admin, 'Active users');
  await clickAndLoad(admin, admin.locator('nav.filters a[data-filter=locked]'));
  await fitsTheScreen(admin, 'Active users, Locked');
  const row = userRow(admin, noor.upn);
  assert.equal(await row.getAttribute('data-status'), 'locked');
  await clickAndLoad(admin, row.locator('th a'));
  assert.equal(pathOf(admin), userPath(noor.upn));
  await fitsTheScreen(admin, 'the locked user');
  assert.match(await admin.locator('.summary-sentence').innerText(), /^Locked until .* after 10 wrong passwords from /);

  // Unlock: two taps from Active users.
  await clickAndLoad(admin, admin.locator('button[data-action=unlock]'));
  assert.equal(await admin.locator('[data-status-badge=locked]').count(), 0, 'unlocked');
  await fitsTheScreen(admin, 'the unlocked user');
  const user = await h.newPage(phone);
  await submitLogin(user, noor.upn, noor.password);
  assert.equal(pathOf(user), '/myaccount', 'the user signs in again after the unlock');

  // Block, and the user's next sign-in is refused; unblock lets them in.
  await editSignInStatus(admin, noor.upn, true);
  await fitsTheScreen(admin, 'the blocked user');
  const other = await h.newPage(phone);
  await submitLogin(other, noor.upn, noor.password);
  assert.equal((await errorBox(other)).code, '50057');
  await editSignInStatus(admin, noor.upn, false);
  await submitLogin(other, noor.upn, noor.password);
  assert.equal(pathOf(other), '/myaccount');

  // Reset password in the dialog, with its defaults.
  await admin.locator('a[data-action=reset-password]').click();
  const dialog = admin.locator('dialog#reset-dialog');
  await dialog.waitFor({ state: 'visible' });
  await fitsTheScreen(admin, 'the reset dialog');
  await clickAndLoad(admin, dialog.locator('button[data-action=reset-password-submit]'));
  assert.equal(pathOf(admin), `${userPath(noor.upn)}/reset-password`);
  await fitsTheScreen(admin, 'the generated password');
  const temporary = await admin.locator('#generated-password').inputValue();
  assert.ok(temporary.length >= 15);
  const fresh = await h.newPage(phone);
  await submitLogin(fresh, noor.upn, temporary);
  assert.equal(pathOf(fresh), '/change-password', 'the temporary password asks for a new one');
});
