// Steps in the admin center, and a harness on a `portier serve --demo` directory, for the
// admin-*.test.js files. Every step waits for the page the browser lands on, never for a time.
import assert from 'node:assert/strict';
import { useHarness } from './harness.js';
import { clickAndLoad, errorBox, pathOf, submitLogin } from './pages.js';

/** The default lockout threshold: this many wrong passwords lock an account. */
export const lockoutThreshold = 10;

/**
 * Locks a user out the way a guesser does: `lockoutThreshold` distinct wrong passwords on the
 * sign-in page of a new browser context (another device), the last answered 50053.
 */
export async function lockOut(h, upn) {
  const page = await h.newPage({ locale: 'en-GB', userAgent: 'Mozilla/5.0 (portier-e2e guesser)' });
  await page.goto('/login');
  for (let i = 1; i <= lockoutThreshold; i++) {
    // Distinct passwords: a repeat of one of the last three would not count again.
    await submitLogin(page, upn, `not-the-password-guess-${i}`, { open: false });
    const { code } = await errorBox(page);
    assert.equal(code, i < lockoutThreshold ? '50126' : '50053', `wrong password ${i} of ${upn}`);
  }
  await page.close();
}

/**
 * From any signed-in page, follows the header's Admin center link, which opens the admin
 * home, then Users > Active users; returns the Active users link of the admin navigation.
 */
export async function openAdminCenter(page) {
  await clickAndLoad(page, page.locator('header nav [data-nav=admin]'));
  assert.equal(pathOf(page), '/admin', 'the admin center opens on its home');
  const users = page.locator('nav.adminnav [data-nav=users]');
  await clickAndLoad(page, users);
  assert.equal(pathOf(page), '/admin/users');
  return users;
}

/** The row of a user on the Active users page. */
export function userRow(page, upn) {
  return page.locator(`tr[data-user="${upn}"]`);
}

/** The admin center's path of a user's details page (Go's url.PathEscape keeps the @). */
export function userPath(upn) {
  return `/admin/users/${encodeURIComponent(upn).replace(/%40/g, '@')}`;
}

/** Opens a user's details from their row on the Active users page. */
export async function openUserFromRow(page, upn) {
  await clickAndLoad(page, userRow(page, upn).locator('th a'));
  assert.equal(pathOf(page), userPath(upn));
  await page.locator(`[data-user-details="${upn}"]`).waitFor();
}

/** The CSRF token of the first form on the current page. */
export async function csrfToken(page) {
  const token = await page.locator('form input[name=csrf_token]').first().inputValue();
  assert.ok(token.length > 20, 'the page holds a CSRF token');
  return token;
}

/**
 * POSTs a urlencoded form with fetch() from the page, as a script on it could: same origin,
 * the browser's cookies, redirects followed. Resolves to the final status, path and body.
 */
export function postFromPage(page, path, fields) {
  return page.evaluate(async ({ path, fields }) => {
    const resp = await fetch(path, {
      method: 'POST',
      body: new URLSearchParams(fields),
      credentials: 'same-origin',
    });
    const u = new URL(resp.url);
    return { status: resp.status, path: u.pathname + u.search, body: await resp.text() };
  }, { path, fields });
}

/** The audit log as `portier audit --json` prints it, newest first. */
export async function auditLog(h) {
  const { stdout } = await h.portier.cli(['audit', '--json']);
  return JSON.parse(stdout).value;
}

/**
 * One Portier filled by `portier serve --demo` (50 sample people in every state) and one
 * Chromium for a test file; the same shape as useHarness(), plus `demoAdmin`, the demo's
 * global admin with the password the server printed once.
 */
export function useDemoHarness() {
  return useHarness({
    serveArgs: ['--demo'],
    afterStart: async (h) => { h.demoAdmin = await demoCredentials(h.portier); },
  });
}

/** The demo admin's user name and password, from what `serve --demo` printed on stdout. */
function demoCredentials(portier) {
  const pattern = /user name:\s+(\S+)\s+password:\s+(\S+)\n/;
  return new Promise((resolve, reject) => {
    const look = () => {
      const m = pattern.exec(portier.log);
      if (!m) return false;
      portier.server.stdout.off('data', onData);
      portier.server.off('exit', onExit);
      resolve({ upn: m[1], password: m[2] });
      return true;
    };
    // Portier.start() appends stdout to log from its own listener, registered before this one.
    const onData = () => { look(); };
    const onExit = () => reject(new Error(`portier serve --demo exited without printing the demo admin:\n${portier.log}`));
    portier.server.stdout.on('data', onData);
    portier.server.once('exit', onExit);
    look();
  });
}
