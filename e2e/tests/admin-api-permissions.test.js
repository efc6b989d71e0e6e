// Applications > API permissions, in English and Dutch: a global admin registers a script that
// acts on its own behalf (client credentials), grants it application permissions, and sees the
// tenant ID and token endpoint a script needs; the script then gets a token and reads a user
// through the Graph-compatible API. axe-core finds no serious or critical violation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useHarness } from '../lib/harness.js';
import { axeViolations, describeViolations } from '../lib/axe.js';
import { clickAndLoad, pathOf, signIn } from '../lib/pages.js';
import { openAdminCenter } from '../lib/admin.js';

const h = useHarness({
  users: {
    boss: { upn: 'greta.global@example.org', displayName: 'Greta Global', password: 'copper-meadow-lantern-8841', roles: ['global-admin'] },
    tom: { upn: 'tom.baker@example.org', displayName: 'Tom Baker', password: 'saffron-lighthouse-drizzle-3390' },
  },
});

async function assertAccessible(page, what) {
  const violations = await axeViolations(page);
  assert.equal(violations.length, 0, `axe-core on ${what}:\n${describeViolations(violations)}`);
}

const texts = {
  'en-GB': { register: 'Register an application', name: 'Name', cc: /^Acts on its own behalf/, submit: 'Register', save: 'Save permissions', saved: 'The API permissions have been saved.', heading: 'API permissions' },
  'nl-NL': { register: null, name: null, cc: /^Handelt namens zichzelf/, submit: null, save: 'Machtigingen opslaan', saved: 'De API-machtigingen zijn opgeslagen.', heading: 'API-machtigingen' },
};

for (const locale of ['en-GB', 'nl-NL']) {
  test(`${locale}: a global admin registers a script and grants its API permissions; the script reads a user`, async () => {
    const t = texts[locale];
    const page = await h.newPage({ locale });
    await signIn(page, h.users.boss);
    await openAdminCenter(page);
    await clickAndLoad(page, page.locator('nav.adminnav [data-nav=apps]'));
    await clickAndLoad(page, page.locator('[data-action=new-app]'));
    const name = `Unlock script ${locale}`;
    await page.locator('#app-name').fill(name);
    await page.getByLabel(t.cc).check();
    await assertAccessible(page, `the register form with client credentials (${locale})`);
    await clickAndLoad(page, page.locator('[data-action=create-app]'));
    const secret = await page.locator('#client-secret').inputValue();
    const clientId = await page.locator('#client-id').inputValue();

    await clickAndLoad(page, page.locator(`a[href="/admin/apps/${clientId}"]`).first());
    await page.getByRole('heading', { level: 2, name: t.heading }).waitFor();
    const tenant = (await page.locator('[data-tenant-id]').innerText()).trim();
    assert.match(tenant, /^[0-9a-f-]{36}$/);
    await page.locator(`[data-permission="User.Read.All"]`).check();
    await page.locator(`[data-permission="AuditLog.Read.All"]`).check();
    await assertAccessible(page, `the API permissions section (${locale})`);
    await clickAndLoad(page, page.getByRole('button', { name: t.save }));
    assert.equal(pathOf(page), `/admin/apps/${clientId}?done=permissions`);
    assert.equal((await page.locator('[data-notice]').innerText()).trim(), t.saved);
    assert.equal(await page.locator('[data-permission="User.Read.All"]').isChecked(), true);
    assert.equal(await page.locator('[data-permission="User.ReadWrite.All"]').isChecked(), false);

    // The script: a token at the tenant's token endpoint, then Tom through /v1.0.
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope: 'https://graph.microsoft.com/.default' });
    const tokenResp = await fetch(`${h.baseURL}/${tenant}/oauth2/v2.0/token`, { method: 'POST', body: form });
    assert.equal(tokenResp.status, 200);
    const { access_token: token } = await tokenResp.json();
    const userResp = await fetch(`${h.baseURL}/v1.0/users/${encodeURIComponent(h.users.tom.upn)}?$select=id,displayName,accountEnabled`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(userResp.status, 200);
    const user = await userResp.json();
    assert.equal(user.displayName, 'Tom Baker');
    assert.equal(user.accountEnabled, true);
    // A permission it was not granted: 403 in Graph's shape.
    const del = await fetch(`${h.baseURL}/v1.0/users/${user.id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
    assert.equal(del.status, 403);
    assert.equal((await del.json()).error.code, 'Authorization_RequestDenied');
  });
}
