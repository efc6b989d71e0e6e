// A user whose password must be changed (portier users create --force-change): the right
// password leads to the change-password page, not into the account, until a good new password is set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useHarness } from '../lib/harness.js';
import { clickAndLoad, errorBox, pathOf, signIn, submitLogin } from '../lib/pages.js';

const h = useHarness({
  users: {
    pim: { upn: 'pim.jansen@example.org', displayName: 'Pim Jansen', password: 'tijdelijk-startwachtwoord-9034', forceChange: true },
  },
});

const newPassword = 'copper-kettle-meadow-lighthouse-62';

async function chooseNewPassword(page, next, confirm = next) {
  await page.locator('#new_password').fill(next);
  await page.locator('#confirm_password').fill(confirm);
  await clickAndLoad(page, page.locator('form[action="/change-password"] button[type=submit]'));
}

test('forced change: 50055 page, a too-short password refused, a good one signs in, and it works next time', async () => {
  const page = await h.newPage({ locale: 'en-GB' });
  await submitLogin(page, h.users.pim.upn, h.users.pim.password);
  assert.equal(pathOf(page), '/change-password');
  await page.getByRole('heading', { level: 1, name: 'Update your password' }).waitFor();
  const reason = page.locator('[data-error-code="50055"]');
  await reason.waitFor();
  assert.match(await reason.innerText(), /You need to update your password/);
  assert.equal(await page.locator('input[name=username]').inputValue(), h.users.pim.upn);
  assert.match(await page.locator('#pw-hint').innerText(), /^At least 15 characters\./);

  // No session yet: the account page still asks to sign in.
  const other = await page.context().newPage();
  await other.goto('/myaccount');
  assert.equal(new URL(other.url()).pathname, '/login');
  await other.close();

  // Too short: refused with the rule that failed, still on the change page.
  await chooseNewPassword(page, 'short-pass');
  assert.equal(new URL(page.url()).pathname, '/change-password');
  let err = await errorBox(page);
  assert.equal(err.code, '90100');
  assert.equal(err.text, 'The password is too short: it must be at least 15 characters long.');

  // Two different new passwords: refused.
  await chooseNewPassword(page, newPassword, `${newPassword}x`);
  err = await errorBox(page);
  assert.equal(err.code, '90100');
  assert.equal(err.text, 'The two new passwords are not the same.');

  // A good one: signed in, on /myaccount.
  await chooseNewPassword(page, newPassword);
  assert.equal(pathOf(page), '/myaccount');
  assert.equal(await page.locator('[data-upn]').innerText(), 'Pim Jansen (pim.jansen@example.org)');
  const shown = await h.portier.showUser(h.users.pim.upn);
  assert.equal(shown.passwordProfile.forceChangePasswordNextSignIn, false);

  // In a fresh browser: the old password no longer works, the new one goes straight in.
  const fresh = await h.newPage({ locale: 'en-GB' });
  await submitLogin(fresh, h.users.pim.upn, h.users.pim.password);
  assert.equal((await errorBox(fresh)).code, '50126');
  await signIn(fresh, h.users.pim, newPassword);
  await fresh.getByRole('heading', { level: 1, name: 'My account' }).waitFor();
});
