// One Portier and one Chromium per test file, started in before() and removed in after():
//
//   const h = useHarness({ users: { ann: { upn: 'ann@example.org', displayName: 'Ann', password: '…' } } });
//   test('…', async () => { const page = await h.newPage(); … });
//
// Each test file runs against its own store, so lockouts and sessions of one file never reach another.
import { before, after } from 'node:test';
import { Portier } from './portier.js';
import { launchBrowser } from './browser.js';

/**
 * Registers the hooks and returns the harness; its fields are filled once before() has run.
 * @param {{users?: Record<string, object>, serveArgs?: string[] | ((h: object) => string[] | Promise<string[]>), afterStart?: (h: object) => Promise<void>, mfaRequired?: string}} options
 *   users to create (through the CLI) before serving, extra `portier serve` flags (or a function
 *   returning them, called in before(): for flags known only once another before() hook ran, such
 *   as a test mailbox's port), a step run once the server listens (the demo harness reads the
 *   printed admin password there), and the mfa-required setting the store starts with ('none')
 */
export function useHarness({ users = {}, serveArgs = [], afterStart = async () => {}, mfaRequired = 'none' } = {}) {
  const h = {
    /** @type {Portier} */ portier: null,
    baseURL: '',
    /** The created users by the keys given. */
    users: {},
    browser: null,
    contexts: [],
    /** A new browser context (own cookies: another device) at Portier. */
    async newContext(options = {}) {
      const c = await h.browser.newContext({ baseURL: h.baseURL, ...options });
      h.contexts.push(c);
      return c;
    },
    /** A page in a new browser context. */
    async newPage(options = {}) {
      const c = await h.newContext(options);
      return c.newPage();
    },
  };
  before(async () => {
    h.portier = await Portier.create();
    // Multi-factor sign-in's default is "admins"; the files that are not about it sign admins
    // in with a password alone (mfa.test.js sets its own policy).
    await h.portier.cli(['settings', 'set', `mfa-required=${mfaRequired}`]);
    for (const [key, u] of Object.entries(users)) {
      h.users[key] = await h.portier.createUser(u);
    }
    const args = typeof serveArgs === 'function' ? await serveArgs(h) : serveArgs;
    h.baseURL = await h.portier.start(args);
    await afterStart(h);
    h.browser = await launchBrowser();
  });
  after(async () => {
    for (const c of h.contexts) await c.close().catch(() => {});
    await h.browser?.close();
    await h.portier?.close();
  });
  return h;
}
