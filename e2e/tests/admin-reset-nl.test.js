// In Dutch: a helpdesk admin finds a locked-out user under Gebruikers > Actieve gebruikers,
// resets their password in the dialog with the defaults (generated, must change), and the user
// signs in with the temporary password, must choose a new one, and lands in their account.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useHarness } from '../lib/harness.js';
import { clickAndLoad, errorBox, pathOf, signIn, submitLogin } from '../lib/pages.js';
import { auditLog, lockOut, openAdminCenter, openUserFromRow, userPath, userRow } from '../lib/admin.js';

const h = useHarness({
  users: {
    helpdesk: { upn: 'hanna.helpdesk@example.org', displayName: 'Hanna Helpdesk', password: 'warme-koffie-molen-2231', roles: ['helpdesk-admin'] },
    kees: { upn: 'kees.dekker@example.org', displayName: 'Kees Dekker', password: 'vergeten-fietsslot-groen-7781' },
    other: { upn: 'lisa.mulder@example.org', displayName: 'Lisa Mulder', password: 'rustige-rivier-avond-4410' },
  },
});

const newPassword = 'nieuwe-lente-tulpen-weide-9024';

test('nl: helpdesk admin resets a locked user\'s password; the user must choose a new one', async () => {
  const kees = h.users.kees;
  await lockOut(h, kees.upn);

  const admin = await h.newPage({ locale: 'nl-NL' });
  await signIn(admin, h.users.helpdesk);
  const activeUsers = await openAdminCenter(admin);
  assert.equal(await admin.locator('html').getAttribute('lang'), 'nl');
  await admin.getByRole('navigation', { name: 'Beheercentrum' }).getByText('Gebruikers', { exact: true }).waitFor();
  assert.equal((await activeUsers.innerText()).trim(), 'Actieve gebruikers');
  await clickAndLoad(admin, activeUsers);
  assert.equal(pathOf(admin), '/admin/users');
  await admin.getByRole('heading', { level: 1, name: 'Actieve gebruikers' }).waitFor();
  assert.equal(await userRow(admin, kees.upn).getAttribute('data-status'), 'locked');
  assert.equal(await userRow(admin, h.users.other.upn).getAttribute('data-status'), 'active');

  // Filter Vergrendeld: only the locked user is left, with the attempts in the badge.
  const locked = admin.locator('nav.filters a[data-filter=locked]');
  assert.equal((await locked.innerText()).trim(), 'Vergrendeld');
  await clickAndLoad(admin, locked);
  assert.equal(pathOf(admin), '/admin/users?filter=locked');
  assert.equal(await admin.locator('nav.filters a[aria-current=page]').getAttribute('data-filter'), 'locked');
  assert.equal(await admin.locator('tr[data-user]').count(), 1, 'only the locked user is listed');
  const badge = userRow(admin, kees.upn).locator('[data-status-badge=locked]');
  assert.match(await badge.innerText(), /^Vergrendeld tot \d\d:\d\d UTC \(10 pogingen\)$/);

  await openUserFromRow(admin, kees.upn);
  await admin.getByRole('heading', { level: 1, name: 'Kees Dekker' }).waitFor();
  await admin.getByRole('heading', { level: 2, name: 'Waarom dit account is vergrendeld' }).waitFor();
  assert.equal(await admin.locator('tr[data-failed-attempt]').count(), 10, 'the ten failed attempts are shown');

  // Wachtwoord opnieuw instellen opens the dialog; the defaults are generate, must change, sign out.
  const reset = admin.locator('a[data-action=reset-password]');
  assert.equal((await reset.innerText()).trim(), 'Wachtwoord opnieuw instellen');
  await reset.click();
  const dialog = admin.locator('dialog#reset-dialog');
  await dialog.waitFor({ state: 'visible' });
  assert.equal(pathOf(admin), userPath(kees.upn), 'the dialog opens on the page, not the fallback page');
  assert.equal(await dialog.evaluate((d) => d.open), true);
  assert.equal(await dialog.locator('#mode-generate').isChecked(), true);
  assert.equal(await dialog.locator('#force-change').isChecked(), true);
  assert.equal(await dialog.locator('#sign-out').isChecked(), true);
  await dialog.getByLabel('Deze gebruiker verplichten het wachtwoord te wijzigen bij de eerste aanmelding').waitFor();
  const submit = dialog.locator('button[data-action=reset-password-submit]');
  assert.equal((await submit.innerText()).trim(), 'Wachtwoord opnieuw instellen');
  await clickAndLoad(admin, submit);

  // The generated password, shown once.
  assert.equal(pathOf(admin), `${userPath(kees.upn)}/reset-password`);
  await admin.getByRole('heading', { level: 1, name: 'Wachtwoord opnieuw ingesteld' }).waitFor();
  const temporary = await admin.locator('#generated-password').inputValue();
  assert.ok(temporary.length >= 15, `a generated password of 15+ characters, got ${temporary.length}`);
  assert.match(await admin.locator('#generated-hint').innerText(), /alleen deze keer getoond.*De gebruiker moet bij het aanmelden een nieuw wachtwoord kiezen\./s);
  await admin.locator('button[data-copy=generated-password]').waitFor({ state: 'visible' });

  // Back on the user's page: unlocked, must change, and the password is nowhere on it.
  await clickAndLoad(admin, admin.getByRole('link', { name: 'Terug naar Kees Dekker' }));
  assert.deepEqual(await admin.locator('[data-status-badge]').evaluateAll((els) => els.map((e) => e.dataset.statusBadge)), ['must-change']);
  assert.equal((await admin.content()).includes(temporary), false, 'the password is shown only once');
  const audit = (await auditLog(h)).find((e) => e.activity === 'user.reset-password' && e.target === kees.upn);
  assert.equal(audit?.initiatedBy, h.users.helpdesk.upn);
  assert.equal(audit?.result, 'success');
  assert.equal(JSON.stringify(audit).includes(temporary), false, 'the audit log never holds the password');

  // The user, on another device: the old password no longer works, the temporary one asks for a new one.
  const user = await h.newPage({ locale: 'nl-NL' });
  await submitLogin(user, kees.upn, kees.password);
  assert.equal((await errorBox(user)).code, '50126');
  await submitLogin(user, kees.upn, temporary);
  assert.equal(pathOf(user), '/change-password');
  const reason = user.locator('[data-error-code="50055"]');
  await reason.waitFor();
  assert.match(await reason.innerText(), /opnieuw is ingesteld/);
  await user.getByRole('heading', { level: 1, name: 'Uw wachtwoord bijwerken' }).waitFor();
  await user.locator('#new_password').fill(newPassword);
  await user.locator('#confirm_password').fill(newPassword);
  await clickAndLoad(user, user.locator('form[action="/change-password"] button[type=submit]'));
  assert.equal(pathOf(user), '/myaccount');
  assert.equal(await user.locator('[data-upn]').innerText(), 'Kees Dekker (kees.dekker@example.org)');
  const shown = await h.portier.showUser(kees.upn);
  assert.equal(shown.passwordProfile.forceChangePasswordNextSignIn, false);
  assert.equal(shown.lockout.locked, false);
});
