// Runs a real Portier: the binary named by PORTIER_BIN, on a fresh SQLite file in a temporary
// directory, with users created through its own CLI. Nothing here builds Portier: scripts/test
// builds the binary once and hands it over.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** How long the server may take to say it is listening. */
const startTimeoutMs = 20_000;

/** The listening line of `portier serve` on stderr (logfmt, written by log/slog). */
const listeningLine = /msg="portier listening" addr=(\S+)/;

/** The portier binary under test, from PORTIER_BIN. */
export function portierBin() {
  const bin = process.env.PORTIER_BIN;
  if (!bin) throw new Error('PORTIER_BIN is not set: build Portier (go build -o /tmp/portier ./cmd/portier) and set PORTIER_BIN to it, or run ./scripts/test');
  if (!existsSync(bin)) throw new Error(`PORTIER_BIN=${bin} does not exist`);
  return bin;
}

/**
 * The environment for every portier command of one test file: the caller's, without any
 * PORTIER_* setting that could point elsewhere, plus this file's store, its mail outbox (used
 * when a test gives no --smtp-url, so no .eml file lands in the working directory) and cheap
 * argon2id parameters (hashing cost is not under test here).
 */
function portierEnv(dbPath, outbox) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('PORTIER_')) env[k] = v;
  }
  return {
    ...env,
    PORTIER_DB: `sqlite:${dbPath}`,
    PORTIER_MAIL_OUTBOX: outbox,
    PORTIER_ARGON2_MEMORY: '64',
    PORTIER_ARGON2_TIME: '1',
    PORTIER_LOG_LEVEL: 'info',
  };
}

/** Runs a command to its end; rejects with its stderr when it exits non-zero. */
function run(bin, args, { env, stdin }) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`portier ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
    });
    if (stdin !== undefined) {
      // A command that exits without reading stdin closes the pipe: its exit status tells.
      child.stdin.on('error', () => {});
      child.stdin.end(stdin);
    }
  });
}

/**
 * A Portier store in a fresh temporary directory, with the CLI bound to it. Call start() to
 * serve it and close() to stop the server and delete the directory.
 */
export class Portier {
  /** Creates the temporary directory; the SQLite file appears at the first command. */
  static async create() {
    const dir = await mkdtemp(path.join(tmpdir(), 'portier-e2e-'));
    return new Portier(dir);
  }

  constructor(dir) {
    this.bin = portierBin();
    this.dir = dir;
    this.dbPath = path.join(dir, 'portier.db');
    this.outbox = path.join(dir, 'outbox');
    this.env = portierEnv(this.dbPath, this.outbox);
    this.server = null;
    this.baseURL = '';
    this.log = '';
  }

  /** Runs `portier ARGS…` against this store; stdin is written to the command. */
  cli(args, { stdin } = {}) {
    return run(this.bin, args, { env: this.env, stdin });
  }

  /**
   * Creates a user through `portier users create … --password-stdin`.
   * @param {{upn: string, displayName: string, password: string, forceChange?: boolean, roles?: string[], mail?: string}} u
   */
  async createUser({ upn, displayName, password, forceChange = false, roles = [], mail }) {
    const args = ['users', 'create', upn, '--display-name', displayName, '--password-stdin'];
    // The command line forces a change by default, as the admin center does.
    args.push(forceChange ? '--force-change' : '--no-force-change');
    if (mail) args.push('--mail', mail);
    for (const r of roles) args.push('--role', r);
    await this.cli(args, { stdin: `${password}\n` });
    return { upn, displayName, password };
  }

  /** Reads a user as the CLI shows it (`portier users show UPN --json`). */
  async showUser(upn) {
    const { stdout } = await this.cli(['users', 'show', upn, '--json']);
    return JSON.parse(stdout);
  }

  /**
   * Starts `portier serve --addr 127.0.0.1:0` and resolves once it logs where it listens;
   * sets baseURL. Extra arguments go after serve's own.
   */
  async start(extraArgs = []) {
    if (this.server) throw new Error('Portier is already running');
    const child = spawn(this.bin, ['serve', '--addr', '127.0.0.1:0', ...extraArgs], {
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.server = child;
    child.stdout.on('data', (d) => { this.log += d; });
    const verbose = process.env.PORTIER_E2E_VERBOSE === '1';
    const addr = await new Promise((resolve, reject) => {
      let pending = '';
      const timer = setTimeout(() => {
        reject(new Error(`portier serve did not report its address within ${startTimeoutMs} ms:\n${this.log}`));
      }, startTimeoutMs);
      child.stderr.on('data', (d) => {
        const text = String(d);
        this.log += text;
        if (verbose) process.stderr.write(text);
        pending += text;
        const m = listeningLine.exec(pending);
        if (m) {
          clearTimeout(timer);
          pending = '';
          resolve(m[1]);
        }
      });
      child.on('error', (err) => { clearTimeout(timer); reject(err); });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`portier serve exited (${code ?? signal}) before listening:\n${this.log}`));
      });
    });
    this.baseURL = `http://${addr}`;
    return this.baseURL;
  }

  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. */
  async stop() {
    const child = this.server;
    this.server = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.once('exit', () => { clearTimeout(kill); resolve(); });
      child.kill('SIGTERM');
    });
  }

  /** Stops the server and deletes the temporary directory with the store in it. */
  async close() {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
