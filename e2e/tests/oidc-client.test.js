// A real relying party, the npm package openid-client, signs users in through Portier's
// OpenID Connect provider end to end: discovery, an authorization URL with PKCE (S256), the
// sign-in form filled in a real browser, the browser landing on the relying party's redirect
// URI (a small HTTP server of this test), the code exchange, the ID token's claims, userinfo
// and a refresh with rotation. A blocked user is refused on /login (50057) and no code reaches
// the relying party. The application is registered with `portier apps create`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import * as client from 'openid-client';
import { useHarness } from '../lib/harness.js';
import { clickAndLoad, errorBox, pathOf } from '../lib/pages.js';

const h = useHarness({
  users: {
    alice: {
      upn: 'alice.jansen@example.org', displayName: 'Alice Jansen', password: 'orchard-pebble-thunder-4417',
      mail: 'alice.jansen@mail.example.org', roles: ['helpdesk-admin'],
    },
    bob: { upn: 'bob.visser@example.org', displayName: 'Bob Visser', password: 'quartz-ferry-marigold-2290' },
  },
  // Once Portier listens: the relying party's callback server, and the application registered.
  afterStart: () => startRelyingParty(),
});

const scope = 'openid profile email offline_access';

/**
 * The relying party's redirect URI: a local HTTP server that records every request made to
 * it and answers with a small page, as an application's callback would.
 */
const rp = {
  server: null,
  redirectURI: '',
  /** The callback URLs the browser was sent to, in order (not its favicon requests). */
  hits: [],
};

/** The registered application: client id and the secret printed once. */
const app = { clientId: '', secret: '' };

/** Starts the callback server and registers it as an application with the CLI. */
async function startRelyingParty() {
  rp.server = http.createServer((req, res) => {
    const url = new URL(req.url, rp.redirectURI);
    if (url.pathname === '/callback') rp.hits.push(url);
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html lang="en"><title>Relying party</title><h1>Signed in to the relying party</h1></html>');
  });
  await new Promise((resolve) => rp.server.listen(0, '127.0.0.1', resolve));
  rp.redirectURI = `http://127.0.0.1:${rp.server.address().port}/callback`;

  // The operator registers the application; the secret is printed once, on stdout.
  const { stdout } = await h.portier.cli(['apps', 'create', 'openid-client e2e', '--redirect-uri', rp.redirectURI, '--json']);
  const created = JSON.parse(stdout);
  assert.match(created.clientSecret ?? '', /^[A-Za-z0-9_-]{43}$/, `apps create prints the client secret:\n${stdout}`);
  app.clientId = created.clientId;
  app.secret = created.clientSecret;
  const { stdout: listed } = await h.portier.cli(['apps', 'list', '--json']);
  const doc = JSON.parse(listed);
  const found = (Array.isArray(doc) ? doc : doc.value).find((a) => a.clientId === app.clientId);
  assert.deepEqual(found?.redirectUris, [rp.redirectURI], `apps list --json lists the application:\n${listed}`);
  assert.equal(listed.includes(app.secret), false, 'apps list does not print the secret');
}

after(async () => {
  await new Promise((resolve) => (rp.server ? rp.server.close(resolve) : resolve()));
});

/** The relying party's configuration, from Portier's discovery document. */
async function discover() {
  // Portier under test listens on plain http on 127.0.0.1; openid-client wants that said.
  return client.discovery(new URL(h.baseURL), app.clientId, undefined, client.ClientSecretBasic(app.secret),
    { execute: [client.allowInsecureRequests] });
}

/** A fresh authorization request: its URL and the values the callback is checked against. */
async function authorizationRequest(config) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: rp.redirectURI,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { url, pkceCodeVerifier, state, nonce };
}

/** Follows the authorization URL in a new browser and signs in on Portier's /login form. */
async function signInThroughPortier(url, user) {
  const page = await h.newPage({ locale: 'en-GB' });
  await page.goto(url.href);
  assert.equal(new URL(page.url()).origin, h.baseURL, 'the authorization request lands on Portier');
  assert.equal(new URL(page.url()).pathname, '/login', `the authorization request shows the sign-in form, not ${page.url()}`);
  await page.locator('#username').fill(user.upn);
  await page.locator('#password').fill(user.password);
  await clickAndLoad(page, page.locator('form[action="/login"] button[type=submit]'));
  return page;
}

test('openid-client: discovery, code flow with PKCE in a real browser, ID token claims, userinfo and refresh', async () => {
  const config = await discover();
  const meta = config.serverMetadata();
  assert.equal(new URL(meta.issuer).href, new URL(h.baseURL).href, 'the issuer is Portier\'s base URL');
  for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri']) {
    assert.ok(meta[endpoint]?.startsWith(h.baseURL), `discovery names the ${endpoint} on Portier`);
  }
  assert.ok(meta.code_challenge_methods_supported?.includes('S256'), 'S256 PKCE is offered');

  const req = await authorizationRequest(config);
  const alice = h.users.alice;
  const page = await signInThroughPortier(req.url, alice);
  // Portier may pass through a page of its own (a fresh navigation after the form's redirects).
  await page.waitForURL((u) => u.href.startsWith(`${rp.redirectURI}?`));

  // The browser lands on the relying party's redirect URI with a code, the state and iss.
  const landed = new URL(page.url());
  assert.equal(`${landed.origin}${landed.pathname}`, rp.redirectURI, `the browser ends at the redirect URI, not ${page.url()}`);
  await page.getByRole('heading', { name: 'Signed in to the relying party' }).waitFor();
  assert.equal(rp.hits.length, 1, 'the relying party got one callback');
  assert.ok(landed.searchParams.get('code'), 'the callback carries a code');
  assert.equal(landed.searchParams.get('state'), req.state);
  assert.equal(new URL(landed.searchParams.get('iss')).href, new URL(meta.issuer).href, 'the callback carries iss (RFC 9207)');

  const tokens = await client.authorizationCodeGrant(config, landed, {
    pkceCodeVerifier: req.pkceCodeVerifier, expectedState: req.state, expectedNonce: req.nonce, idTokenExpected: true,
  });
  assert.ok(tokens.access_token && tokens.refresh_token && tokens.id_token, 'access, refresh and ID tokens');
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');

  const shown = await h.portier.showUser(alice.upn);
  const claims = tokens.claims();
  assert.equal(claims.sub, shown.id, 'sub is the user\'s stable id');
  assert.equal(claims.preferred_username, alice.upn);
  assert.equal(claims.email, shown.mail);
  assert.equal(claims.name, alice.displayName);
  assert.deepEqual(claims.roles, ['helpdesk-admin']);
  assert.equal(claims.nonce, req.nonce);
  assert.equal(claims.aud === app.clientId || (Array.isArray(claims.aud) && claims.aud.includes(app.clientId)), true, 'aud holds the client id');

  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.sub, shown.id);
  assert.equal(info.preferred_username, alice.upn);
  assert.equal(info.email, shown.mail);
  assert.deepEqual(info.roles, ['helpdesk-admin']);

  // A refresh gives new tokens and a new refresh token; the used one is not accepted again.
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.ok(refreshed.access_token && refreshed.access_token !== tokens.access_token, 'a new access token');
  assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'the refresh token rotates');
  const again = await client.fetchUserInfo(config, refreshed.access_token, claims.sub);
  assert.equal(again.preferred_username, alice.upn);
  await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), 'a used refresh token is refused');

  // The code was for one use: a replay is refused.
  await assert.rejects(client.authorizationCodeGrant(config, landed, {
    pkceCodeVerifier: req.pkceCodeVerifier, expectedState: req.state, expectedNonce: req.nonce,
  }), 'a replayed code is refused');
});

test('openid-client: a blocked user is refused on /login with 50057 and no code reaches the relying party', async () => {
  const bob = h.users.bob;
  await h.portier.cli(['users', 'block', bob.upn]);
  const config = await discover();
  const req = await authorizationRequest(config);
  const hitsBefore = rp.hits.length;

  const page = await signInThroughPortier(req.url, bob);
  assert.equal(new URL(page.url()).origin, h.baseURL, 'the browser stays on Portier');
  assert.equal(new URL(page.url()).pathname, '/login', `the blocked user stays on the sign-in form, not ${pathOf(page)}`);
  const { code, text } = await errorBox(page);
  assert.equal(code, '50057');
  assert.match(text, /blocked/i);
  assert.equal(rp.hits.length, hitsBefore, 'no callback, so no code, reached the relying party');
});
