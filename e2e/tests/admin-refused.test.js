// Roles in the admin center: a helpdesk admin is offered no reset on a global admin, its
// fallback page answers 403, and a forged POST with a valid CSRF token is refused (403) by the
// server, which leaves the password as it was and writes a refused entry in the audit log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useHarness } from '../lib/harness.js';
import { clickAndLoad, pathOf, signIn } from '../lib/pages.js';
import { auditLog, csrfToken, openAdminCenter, openUserFromRow, postFromPage, userPath } from '../lib/admin.js';

const h = useHarness({
  users: {
    helpdesk: { upn: 'henk.desk@example.org', displayName: 'Henk Desk', password: 'copper-tulip-anchor-8123', roles: ['helpdesk-admin'] },
    global: { upn: 'gloria.boss@example.org', displayName: 'Gloria Boss', password: 'nimbus-quarry-falcon-4407', roles: ['global-admin'] },
    plain: { upn: 'piet.plain@example.org', displayName: 'Piet Plain', password: 'orchid-ladder-basalt-2290' },
  },
});

test('a helpdesk admin gets no reset on a global admin, and a forged POST is refused (403) and audited', async () => {
  const { helpdesk, global, plain } = h.users;
  const page = await h.newPage({ locale: 'en-GB' });
  await signIn(page, helpdesk);
  await openAdminCenter(page);

  // A plain user: the reset is offered (the button exists for this role at all).
  await openUserFromRow(page, plain.upn);
  await page.locator('a[data-action=reset-password]').waitFor();
  const token = await csrfToken(page);

  // The global admin: no reset, no unlock, no More actions.
  await clickAndLoad(page, page.locator('nav.adminnav [data-nav=users]'));
  await openUserFromRow(page, global.upn);
  await page.getByRole('heading', { level: 1, name: 'Gloria Boss' }).waitFor();
  assert.equal(await page.locator('[data-action=reset-password]').count(), 0, 'no reset button on a global admin');
  assert.equal(await page.locator('dialog#reset-dialog').count(), 0, 'no reset dialog either');
  assert.equal(await page.locator('details[data-menu=more-actions]').count(), 0);

  // The fallback page is refused too.
  const fallback = await page.goto(`${userPath(global.upn)}/reset-password`);
  assert.equal(fallback.status(), 403);
  await page.locator('[data-error=forbidden]').waitFor();

  // A forged POST with a valid CSRF token from another form: 403, not a CSRF failure (400).
  await page.goto(userPath(global.upn));
  const passwordChangedBefore = (await h.portier.showUser(global.upn)).lastPasswordChangeDateTime;
  const forged = await postFromPage(page, `${userPath(global.upn)}/reset-password`, {
    csrf_token: token, mode: 'type', password: 'attacker-chosen-password-0001', force_change: 'on', sign_out: 'on',
  });
  assert.equal(forged.status, 403, `forged reset answered ${forged.status}`);
  assert.equal(forged.path, `${userPath(global.upn)}/reset-password`);
  assert.match(forged.body, /data-error="forbidden"/);
  assert.equal((await h.portier.showUser(global.upn)).lastPasswordChangeDateTime, passwordChangedBefore, 'the password is unchanged');

  // Control: the same token is good for an action this admin may take.
  const allowed = await postFromPage(page, `${userPath(plain.upn)}/revoke-sessions`, { csrf_token: token });
  assert.equal(allowed.status, 200, `an allowed POST with the same token answered ${allowed.status}`);
  assert.equal(allowed.path, `${userPath(plain.upn)}?done=signed-out`);

  // The global admin still signs in with their own password.
  const other = await h.newPage({ locale: 'en-GB' });
  await signIn(other, global);

  // The refusal is in the audit log: through the CLI …
  const refused = (await auditLog(h)).filter((e) => e.result === 'refused');
  assert.equal(refused.length, 1, JSON.stringify(refused));
  assert.equal(refused[0].activity, 'user.reset-password');
  assert.equal(refused[0].initiatedBy, helpdesk.upn);
  assert.equal(refused[0].target, global.upn);
  assert.equal(refused[0].source, '127.0.0.1');
  assert.equal(JSON.stringify(refused[0]).includes('attacker-chosen'), false, 'the forged password is not logged');

  // … and on the Audit log page, filtered to refused entries.
  await page.goto('/admin/users');
  await clickAndLoad(page, page.locator('nav.adminnav [data-nav=audit]'));
  assert.equal(pathOf(page), '/admin/audit');
  await page.getByLabel('Result').selectOption('refused');
  await clickAndLoad(page, page.getByRole('button', { name: 'Apply filters' }));
  const rows = page.locator('tr[data-audit]');
  assert.equal(await rows.count(), 1);
  assert.equal(await rows.getAttribute('data-outcome'), 'refused');
  assert.equal(await rows.getAttribute('data-action'), 'user.reset-password');
  const text = await rows.innerText();
  assert.match(text, /henk\.desk@example\.org/);
  assert.match(text, /gloria\.boss@example\.org/);
  assert.match(text, /Refused/);
});
