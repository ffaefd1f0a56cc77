// A real SMTP server for mail tests: npm smtp-server on port 0, STARTTLS with a fresh self-signed cert, AUTH required.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SMTPServer } from 'smtp-server';

export const SMTP_USER = 'fleetban';
export const SMTP_PASS = 'correct horse battery staple';

/** One received message, its MIME parts decoded. */
export interface ReceivedMail {
  readonly from: string;
  readonly to: readonly string[];
  readonly user: string;
  /** Whether the session was upgraded with STARTTLS before the message. */
  readonly secure: boolean;
  readonly subject: string;
  readonly messageId: string;
  readonly text: string;
  readonly html: string;
}

/** Certificate for CN=localhost, IP 127.0.0.1, made with openssl for this test run only. */
export async function makeCert(dir: string): Promise<{ certFile: string; keyFile: string }> {
  const certFile = join(dir, 'smtp-cert.pem');
  const keyFile = join(dir, 'smtp-key.pem');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  return { certFile, keyFile };
}

/**
 * The SMTP server. `stop()` closes the listener (clients then get "connection refused"),
 * `resume()` listens again on the same port; received mail is kept across both.
 */
export class SmtpFixture {
  readonly received: ReceivedMail[] = [];
  readonly dir: string;
  readonly certFile: string;
  port = 0;
  authFailures = 0;
  #server: SMTPServer | null = null;
  readonly #key: Buffer;
  readonly #cert: Buffer;
  readonly #waiters = new Set<() => void>();

  private constructor(dir: string, certFile: string, key: Buffer, cert: Buffer) {
    this.dir = dir;
    this.certFile = certFile;
    this.#key = key;
    this.#cert = cert;
  }

  static async start(): Promise<SmtpFixture> {
    const dir = await mkdtemp(join(tmpdir(), 'fleetban-smtp-'));
    const { certFile, keyFile } = await makeCert(dir);
    const f = new SmtpFixture(dir, certFile, await readFile(keyFile), await readFile(certFile));
    await f.resume();
    return f;
  }

  /** Resolves once `n` messages have arrived in all. */
  waitForCount(n: number, timeoutMs = 20_000): Promise<void> {
    if (this.received.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.received.length >= n) {
          clearTimeout(timer);
          this.#waiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out waiting for ${n} mails (got ${this.received.length})`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Listens (again) on the same port; does nothing while already listening. */
  async resume(): Promise<void> {
    if (this.#server !== null) return;
    const server = new SMTPServer({
      key: this.#key,
      cert: this.#cert,
      // AUTH only after STARTTLS, as a real submission server does.
      allowInsecureAuth: false,
      authMethods: ['PLAIN', 'LOGIN'],
      logger: false,
      onAuth: (auth, _session, cb) => {
        if (auth.username === SMTP_USER && auth.password === SMTP_PASS) {
          cb(null, { user: auth.username });
        } else {
          this.authFailures++;
          cb(new Error('Authentication failed'));
        }
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          this.received.push(parseMail(raw, session));
          for (const w of [...this.#waiters]) w();
          cb(null, `Ok: queued as M${this.received.length}`);
        });
      },
    });
    server.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        const address = server.server.address();
        if (address !== null && typeof address === 'object') this.port = address.port;
        resolve();
      });
    });
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (server !== null)
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
  }

  async close(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

interface Session {
  readonly user?: unknown;
  readonly secure: boolean;
  readonly envelope: {
    readonly mailFrom: false | { readonly address: string };
    readonly rcptTo: readonly { readonly address: string }[];
  };
}

/** Just enough MIME for nodemailer's output: headers, multipart/alternative, QP and base64. */
export function parseMail(raw: string, session: Session): ReceivedMail {
  const [head, body] = splitHead(raw);
  const headers = parseHeaders(head);
  const parts: Record<string, string> = {};
  const type = headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (boundary === undefined) parts[type.split(';')[0] ?? ''] = decode(body, headers);
  else {
    for (const chunk of body.split(`--${boundary}`).slice(1)) {
      if (chunk.startsWith('--')) break;
      const [ph, pb] = splitHead(chunk.replace(/^\r?\n/, ''));
      const phs = parseHeaders(ph);
      parts[(phs.get('content-type') ?? '').split(';')[0] ?? ''] = decode(pb, phs);
    }
  }
  return {
    from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
    to: session.envelope.rcptTo.map((r) => r.address),
    user: typeof session.user === 'string' ? session.user : '',
    secure: session.secure,
    subject: headers.get('subject') ?? '',
    messageId: headers.get('message-id') ?? '',
    text: parts['text/plain'] ?? '',
    html: parts['text/html'] ?? '',
  };
}

function splitHead(text: string): [string, string] {
  const m = /\r?\n\r?\n/.exec(text);
  return m === null ? [text, ''] : [text.slice(0, m.index), text.slice(m.index + m[0].length)];
}

function parseHeaders(head: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) map.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return map;
}

function decode(body: string, headers: Map<string, string>): string {
  const enc = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  const text = body.replace(/\r\n/g, '\n').replace(/\n$/, '');
  if (enc === 'base64') return Buffer.from(text.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (enc === 'quoted-printable') {
    const bytes = text
      .replace(/=\n/g, '')
      .replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return text;
}
