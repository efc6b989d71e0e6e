// What a user does on Portier's sign-in pages, as steps a test can call. Every step waits for
// the page the browser lands on, never for a fixed time.
import assert from 'node:assert/strict';

/**
 * Clicks something that submits a form or follows a link and waits until the next document
 * has loaded (after any redirects). Listening for 'load' before the click means a page that
 * looks like the previous one (the sign-in form again, with its error) is still told apart.
 */
export async function clickAndLoad(page, locator) {
  await Promise.all([page.waitForEvent('load'), locator.click()]);
}

/** Opens /login and submits the form with a user name and password. */
export async function submitLogin(page, username, password, { open = true } = {}) {
  if (open) await page.goto('/login');
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await clickAndLoad(page, page.locator('form[action="/login"] button[type=submit]'));
}

/** The error box of the current page: its data-error-code and the text the user reads. */
export async function errorBox(page) {
  const box = page.locator('[data-error-code][role=alert]');
  await box.waitFor({ state: 'visible' });
  return { code: await box.getAttribute('data-error-code'), text: (await box.innerText()).trim() };
}

/** The path (and query) the browser is at. */
export function pathOf(page) {
  const u = new URL(page.url());
  return u.pathname + u.search;
}

/**
 * Signs in with a right password and checks that the browser lands on /myaccount, or on the
 * admin center's home (/admin) for a user holding an admin role.
 */
export async function signIn(page, user, password = user.password) {
  await submitLogin(page, user.upn, password);
  const landed = new URL(page.url()).pathname;
  assert.ok(landed === '/myaccount' || landed === '/admin', `signing in as ${user.upn} should land on /myaccount or /admin, not ${page.url()}`);
}
