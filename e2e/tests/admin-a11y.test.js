// axe-core on the admin center, on a `serve --demo` directory (users in every state): the Active
// users page, a locked user's details and the open reset-password dialog have no serious or
// critical violations, in English and Dutch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { axeViolations, describeViolations } from '../lib/axe.js';
import { clickAndLoad, signIn } from '../lib/pages.js';
import { openAdminCenter, openUserFromRow, useDemoHarness } from '../lib/admin.js';

const h = useDemoHarness();

async function assertAccessible(page, what) {
  const violations = await axeViolations(page);
  assert.equal(violations.length, 0, `axe-core on ${what}:\n${describeViolations(violations)}`);
}

for (const locale of ['en-GB', 'nl-NL']) {
  test(`admin center: Active users, a locked user and the reset dialog pass axe-core (${locale})`, async () => {
    const page = await h.newPage({ locale });
    await signIn(page, h.demoAdmin);
    await openAdminCenter(page);
    // The demo's states are all on the first page: the audit covers every badge.
    for (const state of ['locked', 'blocked', 'must-change', 'active']) {
      assert.ok(await page.locator(`tr[data-status="${state}"]`).count() > 0, `a ${state} user is listed`);
    }
    await assertAccessible(page, `Active users (${locale})`);

    await clickAndLoad(page, page.locator('nav.filters a[data-filter=locked]'));
    const upn = await page.locator('tr[data-user]').first().getAttribute('data-user');
    await openUserFromRow(page, upn);
    await page.locator('tr[data-failed-attempt]').first().waitFor();
    await assertAccessible(page, `the details of ${upn} (${locale})`);

    // More actions open: the menu's links are audited too.
    await page.locator('details[data-menu=more-actions] summary').click();
    await page.locator('[data-action=edit-sign-in-status]').waitFor({ state: 'visible' });
    await assertAccessible(page, `the details of ${upn} with More actions open (${locale})`);

    await page.locator('a[data-action=reset-password]').click();
    const dialog = page.locator('dialog#reset-dialog');
    await dialog.waitFor({ state: 'visible' });
    // Keyboard: the dialog takes the focus, and Escape gives it back to the button.
    await page.locator('dialog#reset-dialog #mode-generate:focus').waitFor();
    await assertAccessible(page, `the reset dialog of ${upn} (${locale})`);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await page.locator('a[data-action=reset-password]:focus').waitFor();
  });
}
