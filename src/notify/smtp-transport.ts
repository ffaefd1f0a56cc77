// The nodemailer adapter: SMTP (implicit TLS or STARTTLS, auth) or the local sendmail binary.
import { readFileSync } from 'node:fs';
import nodemailer, { type Transporter } from 'nodemailer';
import { describeError, ErrorCode, FleetbanError } from '../core/errors.js';
import type { MailTransport, OutgoingMail, SendReceipt } from './transport.js';

export interface SmtpSettings {
  readonly kind: 'smtp';
  readonly host: string;
  readonly port: number;
  /** Implicit TLS from the first byte (port 465); false = plain, upgraded with STARTTLS if offered. */
  readonly secure: boolean;
  /** Refuse to send unless STARTTLS succeeds. */
  readonly requireTLS: boolean;
  /** '' = no AUTH. */
  readonly user: string;
  readonly pass: string;
  readonly rejectUnauthorized: boolean;
  /** PEM CA file to verify the server with; '' = the system's CAs. */
  readonly ca: string;
}

export interface SendmailSettings {
  readonly kind: 'sendmail';
  readonly path: string;
}

export type TransportSettings = SmtpSettings | SendmailSettings;

const TIMEOUT_MS = 30_000;

export class NodemailerTransport implements MailTransport {
  readonly #settings: TransportSettings;
  readonly #from: string;
  readonly #mailer: Transporter;

  /** Throws MAIL_FAILED when the CA file cannot be read. */
  constructor(settings: TransportSettings, from: string) {
    this.#settings = settings;
    this.#from = from;
    if (settings.kind === 'sendmail') {
      this.#mailer = nodemailer.createTransport({
        sendmail: true,
        path: settings.path,
        newline: 'unix',
      });
      return;
    }
    let ca: string | undefined;
    if (settings.ca !== '') {
      try {
        ca = readFileSync(settings.ca, 'utf8');
      } catch (e) {
        throw new FleetbanError(
          ErrorCode.MAIL_FAILED,
          `cannot read mail.smtp.tls.ca ${settings.ca}: ${describeError(e)}`,
          { cause: e },
        );
      }
    }
    this.#mailer = nodemailer.createTransport({
      host: settings.host,
      port: settings.port,
      secure: settings.secure,
      requireTLS: settings.requireTLS,
      ...(settings.user !== '' ? { auth: { user: settings.user, pass: settings.pass } } : {}),
      tls: { rejectUnauthorized: settings.rejectUnauthorized, ...(ca !== undefined ? { ca } : {}) },
      connectionTimeout: TIMEOUT_MS,
      greetingTimeout: TIMEOUT_MS,
      socketTimeout: TIMEOUT_MS,
      logger: false,
    });
  }

  describe(): string {
    const s = this.#settings;
    if (s.kind === 'sendmail') return `sendmail ${s.path}`;
    const mode = s.secure ? 'TLS' : s.requireTLS ? 'STARTTLS required' : 'STARTTLS if offered';
    return `smtp ${s.host}:${s.port} (${mode}${s.user !== '' ? `, user ${s.user}` : ''})`;
  }

  async send(mail: OutgoingMail): Promise<SendReceipt> {
    let info: {
      messageId?: string;
      accepted?: (string | { address: string })[];
      rejected?: (string | { address: string })[];
      response?: string;
    };
    try {
      info = (await this.#mailer.sendMail({
        from: this.#from,
        to: [...mail.to],
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: mail.messageId,
      })) as typeof info;
    } catch (e) {
      throw new FleetbanError(ErrorCode.MAIL_FAILED, this.#explain(e), { cause: e });
    }
    const addresses = (list: typeof info.accepted) =>
      (list ?? []).map((a) => (typeof a === 'string' ? a : a.address));
    const receipt: SendReceipt = {
      messageId: info.messageId ?? mail.messageId,
      accepted: addresses(info.accepted),
      rejected: addresses(info.rejected),
      response: typeof info.response === 'string' ? info.response : '',
    };
    if (this.#settings.kind === 'smtp' && receipt.accepted.length === 0) {
      throw new FleetbanError(
        ErrorCode.MAIL_FAILED,
        `${this.describe()} accepted no recipient (rejected: ${receipt.rejected.join(', ')})`,
      );
    }
    return receipt;
  }

  close(): void {
    this.#mailer.close();
  }

  /** A message an admin can act on; nodemailer's own texts never include the password. */
  #explain(e: unknown): string {
    const err = e as { code?: unknown; response?: unknown; responseCode?: unknown };
    const where = this.describe();
    const answer = typeof err.response === 'string' ? `: ${err.response}` : '';
    switch (err.code) {
      case 'EAUTH':
        return `${where}: authentication failed (check mail.smtp.user and mail.smtp.pass)${answer}`;
      case 'ECONNECTION':
      case 'ESOCKET':
      case 'ETIMEDOUT':
      case 'EDNS':
        return `${where}: cannot reach the mail server: ${describeError(e)}`;
      case 'ETLS':
        return `${where}: TLS failed (see mail.smtp.tls.*): ${describeError(e)}`;
      case 'EENVELOPE':
        return `${where}: recipients refused${answer || `: ${describeError(e)}`}`;
      default:
        return `${where}: ${describeError(e)}`;
    }
  }
}
