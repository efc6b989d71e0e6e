// Screenshots of the admin center for the README, on a `serve --demo` directory: Active users
// (en and nl), a locked user's details and the open reset-password dialog. Every run takes them;
// PORTIER_UPDATE_SCREENSHOTS=1 (npm run screenshots) writes them into docs/screenshots/.
import { test } from 'node:test';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { pngSize, saveScreenshot } from '../lib/screenshots.js';
import { viewport } from '../lib/browser.js';
import { clickAndLoad, signIn } from '../lib/pages.js';
import { openAdminCenter, openUserFromRow, userRow, useDemoHarness } from '../lib/admin.js';
import { axeViolations, describeViolations } from '../lib/axe.js';

const h = useDemoHarness();

/** A demo user locked out by guesses from three addresses, IPv6 among them. */
const lockedUser = 'lotte.smit@demo.example.org';

async function shoot(page, name) {
  const file = await saveScreenshot(page, name);
  const size = await pngSize(file);
  assert.deepEqual({ width: size.width, height: size.height }, viewport);
  assert.ok(size.bytes > 10_000 && size.bytes < 1_000_000, `${file} is ${size.bytes} bytes`);
}

test('screenshots of Active users, a locked user\'s details and the reset dialog (en)', async () => {
  const page = await h.newPage({ locale: 'en-GB' });
  await signIn(page, h.demoAdmin);
  await openAdminCenter(page);
  await page.getByRole('heading', { level: 1, name: 'Active users' }).waitFor();
  assert.equal(await userRow(page, lockedUser).getAttribute('data-status'), 'locked');
  await shoot(page, 'admin-users');

  await openUserFromRow(page, lockedUser);
  await page.locator('tr[data-failed-attempt]').first().waitFor();
  await shoot(page, 'admin-user');

  await page.locator('a[data-action=reset-password]').click();
  await page.locator('dialog#reset-dialog').waitFor({ state: 'visible' });
  // The focus ring on the first choice is part of the picture: it shows where the keyboard is.
  await page.locator('dialog#reset-dialog #mode-generate:focus').waitFor();
  await shoot(page, 'admin-reset');
});

test('screenshot of Actieve gebruikers (nl)', async () => {
  const page = await h.newPage({ locale: 'nl-NL' });
  await signIn(page, h.demoAdmin);
  await openAdminCenter(page);
  await page.getByRole('heading', { level: 1, name: 'Actieve gebruikers' }).waitFor();
  await shoot(page, 'admin-users-nl');
});

test('screenshots of Applications, the authenticator set-up and self-service reset (nl)', async () => {
  await h.portier.cli(['apps', 'create', 'Intranet', '--redirect-uri', 'https://intranet.demo.example.org/callback',
    '--post-logout-redirect-uri', 'https://intranet.demo.example.org/', '--assigned-only']);
  await h.portier.cli(['apps', 'create', 'Roosterapp', '--redirect-uri', 'http://127.0.0.1:7777/callback', '--public']);
  const page = await h.newPage({ locale: 'en-GB' });
  await signIn(page, h.demoAdmin);
  await page.goto('/admin/apps');
  await page.getByRole('heading', { level: 1, name: 'Applications' }).waitFor();
  await shoot(page, 'admin-apps');

  await page.goto('/myaccount/security-info');
  await page.locator('form[action="/myaccount/security-info/totp"] button').click();
  await page.locator('img.qr').waitFor();
  await page.locator('[data-totp-secret]').waitFor();
  await shoot(page, 'security-info-totp');

  const nl = await h.newPage({ locale: 'nl-NL' });
  await nl.goto('/recover');
  await nl.locator('#username').fill(lockedUser);
  await nl.locator('form[action="/recover"] button').click();
  await nl.waitForURL('**/recover/verify');
  await nl.locator('[data-recover-step=verify]').waitFor();
  await shoot(nl, 'recover-nl');
});

// Every admin page at a phone's width and a laptop's, in English and Dutch: nothing scrolls
// sideways, the screenshot renders, and axe-core finds no serious or critical violation. One
// browser page per size and language walks through all of them.
const sizes = [{ width: 390, height: 844 }, { width: 1280, height: 800 }];
/** The pages of the sweep: a path, or a function that opens the page from where the last one was. */
const adminPages = [
  ['home', '/admin'],
  ['users', '/admin/users'],
  ['users-locked', '/admin/users?filter=locked'],
  ['user-locked', `/admin/users/${lockedUser}`],
  ['user-reset', `/admin/users/${lockedUser}/reset-password`],
  ['user-status', `/admin/users/${lockedUser}/sign-in-status`],
  ['user-roles', `/admin/users/${lockedUser}/roles`],
  ['user-delete', `/admin/users/${lockedUser}/delete`],
  ['new-user', '/admin/users/new'],
  ['import', '/admin/users/import'],
  ['signins', '/admin/signins'],
  ['audit', '/admin/audit'],
  ['apps', '/admin/apps'],
  ['settings', '/admin/settings'],
  ['myaccount', '/myaccount'],
  ['login-signed-in', '/login'],
];
/** The sweep's screenshots that the README shows, by size, language and page. */
const readmeShots = {
  '390-en-home': 'admin-home-phone', '390-nl-user-locked': 'admin-user-phone-nl', '1280-en-home': 'admin-home',
  '1280-en-audit': 'admin-audit', '1280-nl-audit': 'admin-audit-nl', '390-en-users': 'admin-users-phone',
};

/** A screenshot of the sweep that the README does not show: into the temporary directory, always. */
async function sweepShot(page, key) {
  const dir = path.join(tmpdir(), 'portier-e2e-screenshots');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `sweep-${key}.png`);
  await page.screenshot({ path: file, animations: 'disabled', caret: 'hide', scale: 'css' });
  return file;
}

for (const size of sizes) {
  for (const locale of ['en-GB', 'nl-NL']) {
    const lang = locale.slice(0, 2);
    test(`every admin page at ${size.width} px (${locale}): no sideways scroll, screenshots, axe-core`, async () => {
      const page = await h.newPage({ locale, viewport: size });
      await signIn(page, h.demoAdmin);
      const failures = [];
      for (const [name, path] of adminPages) {
        const resp = await page.goto(path);
        assert.equal(resp.status(), 200, `${path} answers 200`);
        const { scroll, inner } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
        if (scroll > inner) failures.push(`${path} is ${scroll} px wide at ${inner} px`);
        const key = `${size.width}-${lang}-${name}`;
        const file = readmeShots[key] ? await saveScreenshot(page, readmeShots[key]) : await sweepShot(page, key);
        const png = await pngSize(file);
        assert.deepEqual({ width: png.width, height: png.height }, size, `${key} screenshot size`);
        assert.ok(png.bytes > 5_000, `${key} screenshot renders (${png.bytes} bytes)`);
        const violations = await axeViolations(page);
        if (violations.length) failures.push(`axe-core on ${path}:\n${describeViolations(violations)}`);
      }
      // Several users ticked on Active users, then Unlock: the confirm page (not confirmed, so
      // the demo's states stay for the next size and language).
      await page.goto('/admin/users?filter=locked');
      const boxes = page.locator('input[data-select]');
      await boxes.nth(0).check();
      await boxes.nth(1).check();
      await clickAndLoad(page, page.locator('button[data-action=bulk-unlock]'));
      await page.locator('[data-bulk-users="2"]').waitFor();
      const { scroll, inner } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
      if (scroll > inner) failures.push(`the bulk confirm page is ${scroll} px wide at ${inner} px`);
      await sweepShot(page, `${size.width}-${lang}-bulk-confirm`);
      const violations = await axeViolations(page);
      if (violations.length) failures.push(`axe-core on the bulk confirm page:\n${describeViolations(violations)}`);
      assert.deepEqual(failures, []);
    });
  }
}
