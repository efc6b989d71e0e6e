// A real SMTP server inside the test process (npm smtp-server), on 127.0.0.1 and a free port,
// without TLS and with AUTH optional, that keeps every message it is sent, parsed by mailparser.
// Portier is pointed at it with `--smtp-url smtp://127.0.0.1:PORT?tls=none`:
//
//   const mailbox = useMailbox();                       // before useHarness: it starts first
//   const h = useHarness({ users, serveArgs: () => mailbox.serveArgs() });
//   const mail = await mailbox.waitFor((m) => m.to.includes('ann@example.net'));
//   const code = codeIn(mail);
import { before, after } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

/** How long waitFor waits for a message by default. */
const waitTimeoutMs = 15_000;

/**
 * @typedef {object} Message
 * @property {string[]} to       envelope recipients (RCPT TO), lower-cased
 * @property {string} from       envelope sender (MAIL FROM)
 * @property {string} subject
 * @property {string} text       the plain-text body
 * @property {string|false} html the HTML body, if any
 * @property {object} headers    parsed headers (a Map from mailparser)
 * @property {string|null} user  the AUTH user name, if the client authenticated
 */

export class Mailbox {
  constructor() {
    /** @type {Message[]} Every message received, in the order they arrived. */
    this.messages = [];
    this.port = 0;
    this.server = null;
    this.waiters = [];
    this.errors = [];
  }

  /** Starts listening on 127.0.0.1 and a free port. */
  async start() {
    this.server = new SMTPServer({
      secure: false,
      disabledCommands: ['STARTTLS'],
      authOptional: true,
      allowInsecureAuth: true,
      logger: false,
      banner: 'portier-e2e mailbox',
      closeTimeout: 2_000,
      // Any user name and password are taken: the test checks what arrives, not who sent it.
      onAuth: (auth, session, callback) => callback(null, { user: auth.username }),
      onData: (stream, session, callback) => {
        simpleParser(stream)
          .then((parsed) => {
            this.add({
              to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: parsed.html ?? false,
              headers: parsed.headers,
              user: session.user ?? null,
            });
            callback();
          })
          .catch((err) => {
            this.errors.push(err);
            callback(err);
          });
      },
    });
    this.server.on('error', (err) => this.errors.push(err));
    await new Promise((resolve, reject) => {
      this.server.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.server.server.off('error', reject);
        resolve();
      });
    });
    this.port = this.server.server.address().port;
    return this;
  }

  /** The value for `portier serve --smtp-url`: plain SMTP on loopback. */
  get url() {
    return `smtp://127.0.0.1:${this.port}?tls=none`;
  }

  /** `portier serve` flags that send its mail here. */
  serveArgs() {
    return ['--smtp-url', this.url];
  }

  add(message) {
    this.messages.push(message);
    for (const w of [...this.waiters]) {
      if (w.predicate(message)) w.resolve(message);
    }
  }

  /**
   * The first message, already received or still to come, that predicate accepts; rejects after
   * timeoutMs with the messages that did arrive. `since` skips messages received before it
   * (an index into messages, as mark() returns).
   */
  waitFor(predicate, { timeoutMs = waitTimeoutMs, since = 0, what = 'a matching message' } = {}) {
    const found = this.messages.slice(since).find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = {
        predicate,
        resolve: (m) => {
          clearTimeout(timer);
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        const seen = this.messages.map((m) => `  to ${m.to.join(', ')}: ${m.subject}`).join('\n') || '  (none)';
        reject(new Error(`no ${what} arrived within ${timeoutMs} ms; the mailbox holds:\n${seen}${this.errors.length ? `\nerrors: ${this.errors.join('; ')}` : ''}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** The first message to address (received from `since` on). */
  waitForMailTo(address, { since = 0, subject, timeoutMs } = {}) {
    const to = address.toLowerCase();
    return this.waitFor((m) => m.to.includes(to) && (!subject || subject.test(m.subject)), {
      since, timeoutMs, what: `message to ${address}${subject ? ` with a subject like ${subject}` : ''}`,
    });
  }

  /** A position in the mailbox: waitFor(…, { since: mark() }) sees only what arrives after it. */
  mark() {
    return this.messages.length;
  }

  /** The messages sent to address. */
  to(address) {
    const to = address.toLowerCase();
    return this.messages.filter((m) => m.to.includes(to));
  }

  async close() {
    if (!this.server) return;
    const server = this.server;
    this.server = null;
    await new Promise((resolve) => server.close(resolve));
  }
}

/** The 8-digit code in a message's text. */
export function codeIn(message) {
  const m = /(?:^|\s)(\d{8})(?:\s|$)/m.exec(message.text);
  if (!m) throw new Error(`no 8-digit code in the mail "${message.subject}":\n${message.text}`);
  return m[1];
}

/** The links (http and https URLs) in a message's text. */
export function linksIn(message) {
  return [...message.text.matchAll(/https?:\/\/[^\s<>"]+/g)].map((m) => m[0]);
}

/**
 * Registers hooks that start a Mailbox before the tests of the file (and before a harness
 * registered after it) and close it after them; returns the mailbox, started once before() ran.
 */
export function useMailbox() {
  const mailbox = new Mailbox();
  before(() => mailbox.start());
  after(() => mailbox.close());
  return mailbox;
}
