// /myaccount's session list: one browser signs out another of the same user, which is sent to
// sign in at its next navigation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useHarness } from '../lib/harness.js';
import { clickAndLoad, pathOf, signIn } from '../lib/pages.js';

const h = useHarness({
  users: { sara: { upn: 'sara.elmi@example.org', displayName: 'Sara Elmi', password: 'velvet-compass-riverbank-3307' } },
});

test('signing out another session from /myaccount ends it at its next navigation', async () => {
  // Real User-Agent strings: the page names the browser and system ("Chrome on Windows").
  const laptop = await h.newPage({ locale: 'en-GB', userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36' });
  const phone = await h.newPage({ locale: 'en-GB', userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1' });
  await signIn(phone, h.users.sara);
  await signIn(laptop, h.users.sara);

  const rows = laptop.locator('tr[data-session]');
  assert.equal(await rows.count(), 2, 'both sessions are listed');
  const mine = rows.filter({ hasText: 'this browser' });
  assert.equal(await mine.count(), 1, 'exactly one row is this browser');
  assert.match(await mine.innerText(), /Chrome on Windows/);
  const theirs = rows.filter({ hasNotText: 'this browser' });
  assert.match(await theirs.innerText(), /Safari on iOS/);

  await clickAndLoad(laptop, theirs.getByRole('button', { name: 'Sign out' }));
  assert.equal(pathOf(laptop), '/myaccount');
  assert.equal(await laptop.locator('tr[data-session]').count(), 1, 'only this browser\'s session is left');
  assert.match(await laptop.locator('tr[data-session]').innerText(), /this browser/);

  // The phone still shows the page it had; its next click lands on the sign-in form.
  await clickAndLoad(phone, phone.getByRole('navigation').getByRole('link', { name: 'My account' }));
  assert.equal(pathOf(phone), '/login?return_to=%2Fmyaccount&done=ended');
  await phone.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();

  // The laptop is still signed in.
  await laptop.reload();
  assert.equal(pathOf(laptop), '/myaccount');
  assert.equal(await laptop.locator('[data-upn]').innerText(), 'Sara Elmi (sara.elmi@example.org)');
});
