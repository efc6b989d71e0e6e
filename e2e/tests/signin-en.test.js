// Signing in and out in English: the wrong password's message, the right password's landing
// page, and signing out through /logout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useHarness } from '../lib/harness.js';
import { clickAndLoad, errorBox, pathOf, signIn, submitLogin } from '../lib/pages.js';

const h = useHarness({
  users: { ann: { upn: 'ann.devries@example.org', displayName: 'Ann de Vries', password: 'quiet-lantern-orchard-5821' } },
});

test('a wrong password re-shows the form with the 50126 message', async () => {
  const page = await h.newPage({ locale: 'en-GB' });
  await submitLogin(page, h.users.ann.upn, 'not-her-password-at-all');
  assert.equal(new URL(page.url()).pathname, '/login');
  const err = await errorBox(page);
  assert.equal(err.code, '50126');
  assert.equal(err.text, "Your user name or password is incorrect. If you don't remember your password, reset it.");
  // The user name stays filled in; the password does not.
  assert.equal(await page.locator('#username').inputValue(), h.users.ann.upn);
  assert.equal(await page.locator('#password').inputValue(), '');
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  // The name is kept, so the cursor waits in the password field.
  await page.locator('#password:focus').waitFor();
});

test('an unknown user gets the same 50126 message', async () => {
  const page = await h.newPage({ locale: 'en-GB' });
  await submitLogin(page, 'nobody.here@example.org', 'quiet-lantern-orchard-5821');
  const err = await errorBox(page);
  assert.equal(err.code, '50126');
  assert.match(err.text, /^Your user name or password is incorrect\./);
});

test('signing in with the keyboard alone: the form starts in the user name field', async () => {
  const page = await h.newPage({ locale: 'en-GB' });
  await page.goto('/login');
  await page.locator('#username:focus').waitFor();
  await page.keyboard.type(h.users.ann.upn);
  await page.keyboard.press('Tab');
  await page.locator('#password:focus').waitFor();
  await page.keyboard.type(h.users.ann.password);
  await Promise.all([page.waitForEvent('load'), page.keyboard.press('Enter')]);
  assert.equal(pathOf(page), '/myaccount');
  assert.equal(await page.locator('[data-upn]').innerText(), 'Ann de Vries (ann.devries@example.org)');
});

test('the right password lands on /myaccount with the user\'s name; /logout signs out', async () => {
  const page = await h.newPage({ locale: 'en-GB' });
  await signIn(page, h.users.ann);
  await page.getByRole('heading', { level: 1, name: 'My account' }).waitFor();
  assert.equal(await page.locator('[data-upn]').innerText(), 'Ann de Vries (ann.devries@example.org)');
  assert.equal(await page.locator('[data-error-code]').count(), 0, 'no error box after a right password');

  const [sessionCookie] = (await page.context().cookies()).filter((c) => c.name === 'portier_session');
  assert.ok(sessionCookie, 'signing in sets the session cookie');

  // The header's Sign out link asks first; the button signs out.
  await clickAndLoad(page, page.getByRole('navigation').getByRole('link', { name: 'Sign out' }));
  assert.equal(pathOf(page), '/logout');
  await page.getByText('Sign out of Portier on this browser?').waitFor();
  await clickAndLoad(page, page.locator('main').getByRole('button', { name: 'Sign out' }));
  assert.equal(pathOf(page), '/login?done=signed-out');
  assert.equal((await page.getByRole('status').innerText()).trim(), 'You have signed out.');

  // The session is gone, not only its cookie: a browser that kept a copy of the cookie is
  // sent to sign in all the same.
  await page.goto('/myaccount');
  assert.equal(pathOf(page), '/login?return_to=%2Fmyaccount');
  await page.context().addCookies([sessionCookie]);
  await page.goto('/myaccount');
  assert.equal(pathOf(page), '/login?return_to=%2Fmyaccount&done=ended', 'the old session cookie must not open /myaccount');
  await page.locator('#password').waitFor();
});
