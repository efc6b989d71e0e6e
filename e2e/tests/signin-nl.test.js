// Signing in in Dutch (browser language nl-NL): the lockout after ten wrong passwords, in
// Dutch with a time to try again, and the language switch, which outlasts the page it was used on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useHarness } from '../lib/harness.js';
import { clickAndLoad, errorBox, pathOf, submitLogin } from '../lib/pages.js';

const h = useHarness({
  users: { joost: { upn: 'joost.bakker@example.org', displayName: 'Joost Bakker', password: 'zonnige-fietsbel-tulpenveld-4410' } },
});

const threshold = 10; // the default lockout threshold
const firstLockoutSeconds = 60;

/** Seconds since midnight UTC of an HH:MM:SS clock reading. */
function secondsOfDay(hhmmss) {
  const [h, m, s] = hhmmss.split(':').map(Number);
  return h * 3600 + m * 60 + s;
}

test('ten wrong passwords lock the account, and the page says so in Dutch with a time to retry', async () => {
  const page = await h.newPage({ locale: 'nl-NL' });
  await page.goto('/login');
  assert.equal(await page.locator('html').getAttribute('lang'), 'nl');
  await page.getByRole('heading', { level: 1, name: 'Aanmelden' }).waitFor();
  await page.getByLabel('Gebruikersnaam').waitFor();

  for (let i = 1; i < threshold; i++) {
    // Distinct wrong passwords: a repeat of one of the last three would not count again.
    await submitLogin(page, h.users.joost.upn, `fout-wachtwoord-nummer-${i}`, { open: false });
    const err = await errorBox(page);
    assert.equal(err.code, '50126', `attempt ${i} should be an ordinary wrong password`);
    assert.match(err.text, /^Uw gebruikersnaam of wachtwoord is onjuist\./);
  }
  const before = Math.floor(Date.now() / 1000);
  await submitLogin(page, h.users.joost.upn, `fout-wachtwoord-nummer-${threshold}`, { open: false });
  const err = await errorBox(page);
  assert.equal(err.code, '50053', `attempt ${threshold} should lock the account`);
  const m = /^Dit account is tijdelijk vergrendeld om misbruik te voorkomen, na te veel aanmeldpogingen met een onjuist wachtwoord\. Probeer het opnieuw na (\d\d:\d\d:\d\d) \(UTC\)\.$/.exec(err.text);
  assert.ok(m, `the Dutch lockout text with a retry time, got: ${err.text}`);
  // The retry time is the first lockout's length from now (modulo midnight).
  const wait = (secondsOfDay(m[1]) - (before % 86400) + 86400) % 86400;
  assert.ok(wait >= firstLockoutSeconds - 5 && wait <= firstLockoutSeconds + 5, `retry after ${m[1]} is ${wait} s away, want about ${firstLockoutSeconds}`);

  // Locked means locked: the right password now gets the same answer.
  await submitLogin(page, h.users.joost.upn, h.users.joost.password, { open: false });
  assert.equal((await errorBox(page)).code, '50053');
  assert.equal(new URL(page.url()).pathname, '/login');

  const shown = await h.portier.showUser(h.users.joost.upn);
  assert.equal(shown.lockout.locked, true, 'the CLI sees the same lock');
});

test('the language switch changes to English and the choice persists', async () => {
  const context = await h.newContext({ locale: 'nl-NL' });
  const page = await context.newPage();
  await page.goto('/login');
  assert.equal(await page.locator('html').getAttribute('lang'), 'nl');

  const toEnglish = page.locator('[data-lang-switch]');
  assert.equal(await toEnglish.getAttribute('data-lang-switch'), 'en');
  assert.equal((await toEnglish.innerText()).trim(), 'English');
  await clickAndLoad(page, toEnglish);
  assert.equal(pathOf(page), '/login', 'the switch goes back to the page it was used on');
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await page.getByLabel('User name').waitFor();

  // A new page load, with the browser still asking for Dutch, stays English.
  await page.goto('/login');
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  // And in a new tab of the same browser.
  const tab = await context.newPage();
  await tab.goto('/login');
  assert.equal(await tab.locator('html').getAttribute('lang'), 'en');

  // The switch now offers Dutch, and takes the browser back to it.
  const toDutch = page.locator('[data-lang-switch]');
  assert.equal((await toDutch.innerText()).trim(), 'Nederlands');
  await clickAndLoad(page, toDutch);
  assert.equal(await page.locator('html').getAttribute('lang'), 'nl');
  await page.reload();
  await page.getByRole('heading', { level: 1, name: 'Aanmelden' }).waitFor();
});
