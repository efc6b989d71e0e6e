// Passkeys in a real Chromium with its virtual authenticator (DevTools WebAuthn domain): a user
// registers a passkey under Security info and signs in with it without a password, by the
// button and by autofill (conditional mediation); an admin signs in with password plus
// passkey; a user whose password is locked by a guesser signs in with the passkey all the
// same. English and Dutch; axe-core on every new page. WebAuthn needs a domain name as
// relying party, so Portier's base URL here is http://localhost:PORT (a secure context).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { useHarness } from '../lib/harness.js';
import { axeViolations, describeViolations } from '../lib/axe.js';
import { clickAndLoad, errorBox, pathOf, submitLogin } from '../lib/pages.js';

/** A free TCP port on the loopback address. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

let port = 0;
const h = useHarness({
  users: {
    ann: { upn: 'ann.passkey@example.org', displayName: 'Ann Passkey', password: 'lantern-orchard-pebble-2291' },
    joost: { upn: 'joost.sleutel@example.org', displayName: 'Joost Sleutel', password: 'zonnige-fietsbel-tulpenveld-4410' },
    lock: { upn: 'lena.locked@example.org', displayName: 'Lena Locked', password: 'quiet-harbour-violin-8837' },
    admin: { upn: 'hanna.helpdesk@example.org', displayName: 'Hanna Helpdesk', password: 'copper-meadow-whistle-5521', roles: ['helpdesk-admin'] },
  },
  serveArgs: async () => {
    port = await freePort();
    return ['--addr', `127.0.0.1:${port}`, '--base-url', `http://localhost:${port}`];
  },
  afterStart: async (harness) => {
    harness.baseURL = `http://localhost:${port}`;
  },
  // The product's default: admins must use a second factor (the admin test below).
  mfaRequired: 'admins',
});

/**
 * Gives the page's tab a virtual authenticator: a platform authenticator that holds
 * discoverable credentials and verifies its user (as a fingerprint reader would).
 */
async function virtualAuthenticator(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', ctap2Version: 'ctap2_1', transport: 'internal',
      hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  return {
    cdp, authenticatorId,
    async credentials() {
      return (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
    },
  };
}

/**
 * Makes the page's browser one without conditional mediation, so that the sign-in page offers
 * only the button: Chromium's virtual authenticator answers a conditional request at once,
 * as a user picking the autofill suggestion would, which would sign in before a test reaches
 * the button or the password field.
 */
async function withoutAutofill(page) {
  await page.addInitScript(() => {
    if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;
  });
}

async function checkAxe(page, what) {
  const violations = await axeViolations(page);
  assert.equal(violations.length, 0, `${what}: axe found\n${describeViolations(violations)}`);
}

/** Checks that the page does not scroll sideways at a phone's width. */
async function noSidewaysScroll(page, what) {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  await page.setViewportSize(size);
  assert.ok(wide <= 390, `${what} scrolls sideways at 390 px (${wide} px wide)`);
}

/** Registers a passkey named name under Security info (the user is signed in). */
async function registerPasskey(page, name, { labels }) {
  await page.goto('/myaccount/security-info');
  await page.getByLabel(labels.name, { exact: true }).fill(name);
  await clickAndLoad(page, page.getByRole('button', { name: labels.add }));
  assert.match(pathOf(page), /done=passkey-added/);
  await page.locator(`tr[data-passkey="${name}"]`).waitFor();
}

async function signOut(page) {
  await page.goto('/logout');
  await clickAndLoad(page, page.locator('form[action="/logout"] button[type=submit]'));
}

const en = { name: 'Passkey name', add: 'Add a passkey', signin: 'Sign in with a passkey', use: 'Use my passkey' };
const nl = { name: 'Naam van de wachtwoordsleutel', add: 'Een wachtwoordsleutel toevoegen', signin: 'Aanmelden met een wachtwoordsleutel', use: 'Mijn wachtwoordsleutel gebruiken' };

test('register a passkey, then sign in with it without a password (English)', async () => {
  const page = await h.newPage({ locale: 'en-GB' });
  await withoutAutofill(page);
  const auth = await virtualAuthenticator(page);
  await submitLogin(page, h.users.ann.upn, h.users.ann.password);
  assert.equal(pathOf(page), '/myaccount');

  await page.goto('/myaccount/security-info');
  await checkAxe(page, 'Security info with the passkey form');
  await registerPasskey(page, 'Work laptop', { labels: en });
  await page.getByText('Your passkey was added.').waitFor();
  const row = page.locator('tr[data-passkey="Work laptop"]');
  assert.match(await row.innerText(), /Never/);
  await checkAxe(page, 'Security info with a passkey');
  await noSidewaysScroll(page, 'Security info with a passkey');
  const creds = await auth.credentials();
  assert.equal(creds.length, 1, 'the authenticator holds one credential');
  assert.equal(creds[0].isResidentCredential, true, 'the passkey is discoverable');

  await signOut(page);
  await page.goto('/login');
  const field = page.locator('#username');
  assert.equal(await field.getAttribute('autocomplete'), 'username webauthn');
  const button = page.getByRole('button', { name: en.signin });
  await button.waitFor({ state: 'visible' });
  await checkAxe(page, 'sign-in page with the passkey button');
  await noSidewaysScroll(page, 'sign-in page');
  await clickAndLoad(page, button);
  assert.equal(pathOf(page), '/myaccount', 'the passkey signs in without a user name or password');
  await page.getByText(h.users.ann.displayName).first().waitFor();

  // Security info now shows when the passkey was last used.
  await page.goto('/myaccount/security-info');
  assert.doesNotMatch(await page.locator('tr[data-passkey="Work laptop"]').innerText(), /Never/);

  // Removing it goes through a confirm page that asks for the password.
  await clickAndLoad(page, page.locator('tr[data-passkey="Work laptop"] a[data-remove]'));
  await page.getByRole('heading', { level: 1, name: 'Remove a method' }).waitFor();
  await checkAxe(page, 'the removal confirm page');
  await noSidewaysScroll(page, 'the removal confirm page');
  await page.getByLabel('Current password').fill(h.users.ann.password);
  await clickAndLoad(page, page.getByRole('button', { name: 'Remove' }));
  assert.equal(pathOf(page), '/myaccount/security-info?done=removed');
  assert.equal(await page.locator('tr[data-passkey]').count(), 0);
});

test('the autofill prompt signs in with a passkey from the user-name field (English)', async () => {
  // Registered in a browser without autofill, so that the password form can be used first.
  const setup = await h.newPage({ locale: 'en-GB' });
  await withoutAutofill(setup);
  const first = await virtualAuthenticator(setup);
  await submitLogin(setup, h.users.ann.upn, h.users.ann.password);
  await registerPasskey(setup, 'Phone', { labels: en });
  const page = await h.newPage({ locale: 'en-GB' });
  await copyPasskeys(first, await virtualAuthenticator(page));

  // Conditional mediation: the page asks for a passkey as soon as it loads, without a modal,
  // and the browser offers it in the user-name field's autofill. Headless Chromium shows no
  // autofill list; its virtual authenticator answers the conditional request as a user
  // picking the suggestion would. Nothing is typed and no button is pressed.
  const conditional = page.waitForRequest((r) => r.url().endsWith('/login/passkey/options') && r.method() === 'POST');
  const signedIn = page.waitForURL((u) => u.pathname === '/myaccount');
  await page.goto('/login');
  await conditional;
  await signedIn;
  assert.equal(pathOf(page), '/myaccount', 'the autofill prompt signed in');
});

test('registreer een wachtwoordsleutel en meld u zonder wachtwoord aan (Nederlands)', async () => {
  const page = await h.newPage({ locale: 'nl-NL' });
  await withoutAutofill(page);
  await virtualAuthenticator(page);
  await submitLogin(page, h.users.joost.upn, h.users.joost.password);
  await page.goto('/myaccount/security-info');
  assert.equal(await page.locator('html').getAttribute('lang'), 'nl');
  await page.getByRole('heading', { level: 2, name: 'Wachtwoordsleutels' }).waitFor();
  await checkAxe(page, 'Beveiligingsgegevens');
  await registerPasskey(page, 'Werklaptop', { labels: nl });
  await page.getByText('Uw wachtwoordsleutel is toegevoegd.').waitFor();
  assert.match(await page.locator('tr[data-passkey="Werklaptop"]').innerText(), /Nooit/);
  await checkAxe(page, 'Beveiligingsgegevens met een wachtwoordsleutel');

  await signOut(page);
  await page.goto('/login');
  const button = page.getByRole('button', { name: nl.signin });
  await button.waitFor({ state: 'visible' });
  await checkAxe(page, 'Aanmelden met de knop voor wachtwoordsleutels');
  await clickAndLoad(page, button);
  assert.equal(pathOf(page), '/myaccount');

  await page.goto('/myaccount/security-info');
  await clickAndLoad(page, page.locator('tr[data-passkey="Werklaptop"] a[data-remove]'));
  await page.getByRole('heading', { level: 1, name: 'Een methode verwijderen' }).waitFor();
  await checkAxe(page, 'Een methode verwijderen');
  // A wrong password removes nothing and says so on the same page.
  await page.getByLabel('Huidig wachtwoord').fill('helemaal-niet-het-wachtwoord');
  await clickAndLoad(page, page.getByRole('button', { name: 'Verwijderen' }));
  assert.equal((await errorBox(page)).code, '50126');
  await page.getByRole('heading', { level: 1, name: 'Een methode verwijderen' }).waitFor();
});

/** Copies the passkeys of one tab's authenticator to another's, as a passkey synced to another device. */
async function copyPasskeys(from, to) {
  for (const credential of await from.credentials()) {
    await to.cdp.send('WebAuthn.addCredential', { authenticatorId: to.authenticatorId, credential });
  }
}

test('a user whose password a guesser locked signs in with a passkey (English)', async () => {
  const page = await h.newPage({ locale: 'en-GB' });
  await withoutAutofill(page);
  const first = await virtualAuthenticator(page);
  await submitLogin(page, h.users.lock.upn, h.users.lock.password);
  await registerPasskey(page, 'Laptop', { labels: en });
  await signOut(page);

  // A stranger, in another browser, guesses at the password until the account locks.
  const guesser = await h.newPage({ locale: 'en-GB' });
  let code = '';
  for (let i = 1; i <= 12 && code !== '50053'; i++) {
    await submitLogin(guesser, h.users.lock.upn, `a-wrong-guess-number-${i}`);
    code = (await errorBox(guesser)).code;
  }
  assert.equal(code, '50053', 'the guesses locked the account');
  assert.equal((await h.portier.showUser(h.users.lock.upn)).lockout.locked, true);

  // The owner, at a new browser, cannot use the password now, but the passkey works.
  const owner = await h.newPage({ locale: 'en-GB' });
  await withoutAutofill(owner);
  await copyPasskeys(first, await virtualAuthenticator(owner));
  await submitLogin(owner, h.users.lock.upn, h.users.lock.password);
  assert.equal((await errorBox(owner)).code, '50053', 'the password is locked');
  await clickAndLoad(owner, owner.getByRole('button', { name: en.signin }));
  assert.equal(pathOf(owner), '/myaccount', 'the passkey signs in while the password is locked');
  assert.equal((await h.portier.showUser(h.users.lock.upn)).lockout.locked, true, 'the lock on the password stays');
});

test('an admin signs in with password plus passkey (English and Dutch)', async () => {
  // helpdesk-admin must use a second factor (mfa-required=admins, the default). The first
  // sign-in registers a passkey as that factor; the next one asks for it.
  const page = await h.newPage({ locale: 'en-GB' });
  await withoutAutofill(page);
  const auth = await virtualAuthenticator(page);
  await submitLogin(page, h.users.admin.upn, h.users.admin.password);
  assert.equal(pathOf(page), '/login/mfa/register');
  await clickAndLoad(page, page.locator('a[data-mfa-register-passkey]'));
  assert.equal(pathOf(page), '/login/mfa/register/passkey');
  await checkAxe(page, 'registering a passkey as the second factor');
  await noSidewaysScroll(page, 'registering a passkey as the second factor');
  await page.getByLabel(en.name, { exact: true }).fill('Security key');
  await clickAndLoad(page, page.getByRole('button', { name: en.add }));
  assert.equal(pathOf(page), '/myaccount', 'registering the passkey completes the sign-in');
  await signOut(page);

  await submitLogin(page, h.users.admin.upn, h.users.admin.password);
  assert.equal(pathOf(page), '/login/mfa/passkey', 'the second step asks for the passkey');
  assert.equal(await page.locator('form[data-mfa-method="passkey"]').count(), 1);
  await checkAxe(page, 'the passkey second step');
  await noSidewaysScroll(page, 'the passkey second step');
  await clickAndLoad(page, page.getByRole('button', { name: en.use }));
  assert.equal(pathOf(page), '/myaccount', 'password plus passkey signs in');
  await signOut(page);

  // The same in Dutch, at another browser that has the passkey.
  const nlPage = await h.newPage({ locale: 'nl-NL' });
  await withoutAutofill(nlPage);
  await copyPasskeys(auth, await virtualAuthenticator(nlPage));
  await submitLogin(nlPage, h.users.admin.upn, h.users.admin.password);
  assert.equal(pathOf(nlPage), '/login/mfa/passkey');
  assert.equal(await nlPage.locator('html').getAttribute('lang'), 'nl');
  await checkAxe(nlPage, 'de tweede stap met een wachtwoordsleutel');
  await clickAndLoad(nlPage, nlPage.getByRole('button', { name: nl.use }));
  assert.equal(pathOf(nlPage), '/myaccount', 'wachtwoord plus wachtwoordsleutel meldt aan');
});
