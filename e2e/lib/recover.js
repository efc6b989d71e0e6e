// Steps of self-service password reset and security info for the recover-*.test.js files. Each
// step waits for the page it leads to and checks where the browser is by the data attributes the
// templates carry (data-recover-step, data-done, data-error-code, data-action), not by text.
import assert from 'node:assert/strict';
import { clickAndLoad, errorBox, pathOf, submitLogin } from './pages.js';
import { codeIn } from './mailbox.js';
import { lockoutThreshold } from './admin.js';

/** The step of /recover the browser is at (the section's data-recover-step). */
export async function recoverStep(page) {
  const section = page.locator('[data-recover-step]');
  await section.waitFor();
  return section.getAttribute('data-recover-step');
}

/** Asserts the /recover step and the path the browser is at. */
export async function expectStep(page, step, path) {
  assert.equal(await recoverStep(page), step, `the /recover step at ${pathOf(page)}`);
  if (path !== undefined) assert.equal(pathOf(page), path);
}

/**
 * From /myaccount, opens Security info, adds an alternate email address and confirms it with
 * the code that the mailbox receives. Returns the code mail.
 */
export async function addAlternateEmail(page, mailbox, address) {
  assert.equal(pathOf(page), '/myaccount');
  await clickAndLoad(page, page.locator('main a[href="/myaccount/security-info"]'));
  assert.equal(pathOf(page), '/myaccount/security-info');
  await page.locator('[data-no-methods]').waitFor();
  const since = mailbox.mark();
  await page.locator('form[action="/myaccount/security-info/email"] #address').fill(address);
  await clickAndLoad(page, page.locator('form[action="/myaccount/security-info/email"] button[type=submit]'));
  assert.match(pathOf(page), /^\/myaccount\/security-info\/confirm\/[^/?]+$/, 'the code is asked for on the confirm page');
  const mail = await mailbox.waitForMailTo(address, { since });
  await page.locator('#code').fill(codeIn(mail));
  await clickAndLoad(page, page.locator('form[action^="/myaccount/security-info/confirm/"] button[type=submit]'));
  assert.equal(pathOf(page), '/myaccount/security-info?done=added');
  const row = page.locator('tr[data-method=email]');
  assert.equal(await row.count(), 1, 'one alternate email address is registered');
  assert.match(await row.innerText(), new RegExp(address.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return mail;
}

/** Signs out through /logout and its confirmation button. */
export async function signOut(page) {
  await page.goto('/logout');
  await clickAndLoad(page, page.locator('form[action="/logout"] button[type=submit]'));
  assert.equal(pathOf(page), '/login?done=signed-out');
}

/**
 * A stranger on another device (a new browser context, no device cookie of the account) types
 * distinct wrong passwords until the account locks (50053); returns how many it took.
 */
export async function strangerLocksOut(h, upn, { prefix = 'stranger-guess' } = {}) {
  const page = await h.newPage({ locale: 'en-GB', userAgent: 'Mozilla/5.0 (portier-e2e stranger)' });
  await page.goto('/login');
  for (let i = 1; i <= lockoutThreshold; i++) {
    // Distinct passwords: a repeat of one of the last three would not count again.
    await submitLogin(page, upn, `${prefix}-${i}-wrong-password`, { open: false });
    const { code } = await errorBox(page);
    if (code === '50053') {
      await page.close();
      return i;
    }
    assert.equal(code, '50126', `wrong password ${i} of ${upn}`);
  }
  assert.fail(`${lockoutThreshold} wrong passwords did not lock ${upn}`);
}

/** Asserts that signing in with a password on page is refused with code (on /login). */
export async function expectSignInRefused(page, upn, password, code) {
  await submitLogin(page, upn, password);
  assert.equal((await errorBox(page)).code, code);
  assert.equal(new URL(page.url()).pathname, '/login');
}

/** From /login, follows "Can't access your account?" to the first step of /recover. */
export async function openRecoverFromLogin(page, linkText) {
  await page.goto('/login');
  const link = page.locator('main a[href="/recover"]');
  assert.equal((await link.innerText()).trim(), linkText);
  await clickAndLoad(page, link);
  await expectStep(page, 'name', '/recover');
}

/** On the first step, types the user name and goes on to the verify step. */
export async function enterUserName(page, name) {
  await page.locator('form[action="/recover"] #username').fill(name);
  await clickAndLoad(page, page.locator('form[action="/recover"] button[type=submit]'));
  await expectStep(page, 'verify', '/recover/verify');
}

/** On the verify step, types an alternate address and asks for a code. */
export async function askForCode(page, address) {
  await page.locator('form[action="/recover/email"] #address').fill(address);
  await clickAndLoad(page, page.locator('form[action="/recover/email"] button[type=submit]'));
  await expectStep(page, 'verify', '/recover/verify?sent=1');
  await page.locator('form[action="/recover/code"] #email-code').waitFor();
}

/** On the verify step, types the emailed code and submits it. */
export async function enterCode(page, code) {
  await page.locator('form[action="/recover/code"] #email-code').fill(code);
  await clickAndLoad(page, page.locator('form[action="/recover/code"] button[type=submit]'));
}

/** On the choose (or password) step, sets a new password, signing out everywhere (the default). */
export async function chooseNewPassword(page, password) {
  await page.locator('form[action="/recover/password"] #new_password').fill(password);
  await page.locator('form[action="/recover/password"] #confirm_password').fill(password);
  assert.equal(await page.locator('#sign-out-everywhere').isChecked(), true, 'signing out everywhere is the default');
  await clickAndLoad(page, page.locator('form[action="/recover/password"] button[type=submit]'));
}

/** The sign-in log of a user as `portier signins --user UPN --json` prints it. */
export async function signInLog(h, upn) {
  const { stdout } = await h.portier.cli(['signins', '--user', upn, '--json']);
  const doc = JSON.parse(stdout);
  return Array.isArray(doc) ? doc : doc.value;
}
