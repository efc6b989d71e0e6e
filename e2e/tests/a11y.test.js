// axe-core on the sign-in pages: no violation of serious or critical impact, in English and Dutch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useHarness } from '../lib/harness.js';
import { axeViolations, describeViolations } from '../lib/axe.js';
import { signIn, submitLogin } from '../lib/pages.js';

const h = useHarness({
  users: {
    lena: { upn: 'lena.smit@example.org', displayName: 'Lena Smit', password: 'amber-teapot-glacier-8812' },
    new: { upn: 'noah.visser@example.org', displayName: 'Noah Visser', password: 'eerste-keer-wachtwoord-5520', forceChange: true },
  },
});

async function assertAccessible(page, what) {
  const violations = await axeViolations(page);
  assert.equal(violations.length, 0, `axe-core on ${what}:\n${describeViolations(violations)}`);
}

for (const locale of ['en-GB', 'nl-NL']) {
  test(`/login, with and without an error, has no serious or critical violations (${locale})`, async () => {
    const page = await h.newPage({ locale });
    await page.goto('/login');
    await assertAccessible(page, `/login (${locale})`);
    await submitLogin(page, h.users.lena.upn, 'a-wrong-password-here', { open: false });
    await page.locator('[data-error-code="50126"]').waitFor();
    await assertAccessible(page, `/login with 50126 (${locale})`);
  });

  test(`/myaccount has no serious or critical violations (${locale})`, async () => {
    const page = await h.newPage({ locale });
    await signIn(page, h.users.lena);
    await page.locator('tr[data-session]').first().waitFor();
    await assertAccessible(page, `/myaccount (${locale})`);
  });
}

test('/change-password has no serious or critical violations', async () => {
  const page = await h.newPage({ locale: 'en-GB' });
  await submitLogin(page, h.users.new.upn, h.users.new.password);
  await page.locator('[data-error-code="50055"]').waitFor();
  await assertAccessible(page, '/change-password');
});
