// Multi-factor sign-in in a real browser, in English and Dutch: a right password leads to the
// second step (or to registering an authenticator first), a wrong code is 500121, a right one
// signs in; a helpdesk admin creates a Temporary Access Pass for a user who lost their phone,
// who signs in with it and registers a new authenticator. axe-core runs on every new page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useHarness } from '../lib/harness.js';
import { clickAndLoad, errorBox, pathOf, submitLogin } from '../lib/pages.js';
import { axeViolations, describeViolations } from '../lib/axe.js';
import { totp } from '../lib/totp.js';

const h = useHarness({
  mfaRequired: 'all',
  users: {
    ada: { upn: 'ada@example.org', displayName: 'Ada Lovelace', password: 'quiet-lantern-orchard-5821' },
    bram: { upn: 'bram@example.org', displayName: 'Bram de Boer', password: 'stille-lantaarn-boomgaard-7310' },
    help: { upn: 'help@example.org', displayName: 'Helpdesk', password: 'amber-harbour-willow-4417', roles: ['helpdesk-admin'] },
    lost: { upn: 'lost@example.org', displayName: 'Lotte Kwijt', password: 'copper-meadow-violin-2290' },
  },
});

async function noViolations(page, what) {
  const v = await axeViolations(page);
  assert.equal(v.length, 0, `${what}:\n${describeViolations(v)}`);
}

/** Signs in with the password and registers an authenticator on the way; returns its secret. */
async function registerAtSignIn(page, user, { axe = false } = {}) {
  await submitLogin(page, user.upn, user.password);
  assert.equal(pathOf(page), '/login/mfa/register');
  if (axe) await noViolations(page, 'the registration page');
  const secret = (await page.locator('[data-totp-secret]').innerText()).trim();
  await page.locator('#code').fill(totp(secret));
  await clickAndLoad(page, page.locator('form[data-mfa-register] button[type=submit]'));
  assert.equal(new URL(page.url()).pathname, '/myaccount');
  return secret;
}

/** Signs in with the password and an authenticator code of the next step (the current one may be used). */
async function signInMFA(page, user, secret) {
  await submitLogin(page, user.upn, user.password);
  assert.equal(pathOf(page), '/login/mfa/totp');
  await page.locator('#code').fill(totp(secret, 1));
  await clickAndLoad(page, page.locator('form[data-mfa-method="totp"] button[type=submit]'));
}

test('password and authenticator code at /login (English)', async () => {
  const first = await h.newPage({ locale: 'en-GB' });
  const secret = await registerAtSignIn(first, h.users.ada, { axe: true });

  const page = await h.newPage({ locale: 'en-GB' });
  await submitLogin(page, h.users.ada.upn, h.users.ada.password);
  assert.equal(pathOf(page), '/login/mfa/totp');
  await page.getByRole('heading', { level: 1, name: 'Verify your identity' }).waitFor();
  assert.equal(await page.locator('form[data-mfa-method="totp"]').count(), 1);
  await noViolations(page, 'the second step');
  // No session before the second factor.
  assert.equal((await page.context().cookies()).filter((c) => c.name === 'portier_session').length, 0);

  await page.locator('#code').fill(totp(secret) === '000000' ? '111111' : '000000');
  await clickAndLoad(page, page.locator('form[data-mfa-method="totp"] button[type=submit]'));
  const err = await errorBox(page);
  assert.equal(err.code, '500121');
  await noViolations(page, 'the second step with its error');

  await page.locator('#code').fill(totp(secret, 1));
  await clickAndLoad(page, page.locator('form[data-mfa-method="totp"] button[type=submit]'));
  assert.equal(pathOf(page), '/myaccount');
});

test('wachtwoord en verificatiecode bij /login (Nederlands)', async () => {
  const first = await h.newPage({ locale: 'nl-NL' });
  await submitLogin(first, h.users.bram.upn, h.users.bram.password);
  await first.getByRole('heading', { level: 1, name: 'Meervoudige verificatie instellen' }).waitFor();
  await noViolations(first, 'de registratiepagina');
  const secret = (await first.locator('[data-totp-secret]').innerText()).trim();
  await first.locator('#code').fill(totp(secret));
  await clickAndLoad(first, first.locator('form[data-mfa-register] button[type=submit]'));
  assert.equal(new URL(first.url()).pathname, '/myaccount');

  const page = await h.newPage({ locale: 'nl-NL' });
  await submitLogin(page, h.users.bram.upn, h.users.bram.password);
  await page.getByRole('heading', { level: 1, name: 'Uw identiteit verifiëren' }).waitFor();
  await noViolations(page, 'de tweede stap');
  await page.locator('#code').fill(totp(secret, 1));
  await clickAndLoad(page, page.locator('form[data-mfa-method="totp"] button[type=submit]'));
  assert.equal(pathOf(page), '/myaccount');
});

test('a helpdesk admin gives a Temporary Access Pass to a user who lost their phone', async () => {
  // The user had an authenticator, on the phone now lost.
  await registerAtSignIn(await h.newPage({ locale: 'en-GB' }), h.users.lost);

  const admin = await h.newPage({ locale: 'en-GB' });
  const adminSecret = await registerAtSignIn(admin, h.users.help);
  await admin.goto(`/admin/users/${h.users.lost.upn}`);
  await admin.locator('[data-auth-method="totp"]').waitFor();
  await noViolations(admin, 'the user page with its authentication methods');
  await clickAndLoad(admin, admin.locator('[data-action="require-reregister-mfa"]'));
  await admin.locator('#tap_one_time').check();
  await clickAndLoad(admin, admin.locator('[data-action="create-tap"]'));
  await admin.getByRole('heading', { level: 1, name: 'Temporary Access Pass' }).waitFor();
  await noViolations(admin, 'the pass page');
  const pass = (await admin.locator('[data-tap-pass]').innerText()).trim();
  assert.equal(pass.length, 16);
  assert.ok(adminSecret);

  const user = await h.newPage({ locale: 'en-GB' });
  await submitLogin(user, h.users.lost.upn, pass);
  assert.equal(pathOf(user), '/myaccount/security-info?tap=1');
  await clickAndLoad(user, user.locator('form[action="/myaccount/security-info/totp"] button[type=submit]'));
  const secret = (await user.locator('[data-totp-secret]').innerText()).trim();
  await user.locator('#code').fill(totp(secret));
  await clickAndLoad(user, user.locator('form[action^="/myaccount/security-info/confirm/"] button[type=submit]'));

  // The new authenticator signs in; the one-time pass is used up.
  const again = await h.newPage({ locale: 'en-GB' });
  await signInMFA(again, h.users.lost, secret);
  assert.equal(pathOf(again), '/myaccount');
  const reuse = await h.newPage({ locale: 'en-GB' });
  await submitLogin(reuse, h.users.lost.upn, pass);
  assert.equal((await errorBox(reuse)).code, '50126');
});
