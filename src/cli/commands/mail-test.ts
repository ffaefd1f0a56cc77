// `fleetban mail test [--to ADDR]`: send one test message through the server's mail settings, print the answer.
import type { OutboxReport } from '../../control/plane.js';
import {
  clientOptions,
  flagOption,
  stringOption,
  toJson,
  usageError,
  type Command,
} from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { formatTime } from '../format.js';

/** What POST /v1/mail/test answers. */
interface MailTestAnswer {
  readonly transport: string;
  readonly to: readonly string[];
  readonly messageId: string;
  readonly accepted: readonly string[];
  readonly rejected: readonly string[];
  readonly response: string;
}

export const mailTestCommand: Command = {
  name: 'mail test',
  summary: 'send a test mail through the server and show what the mail server answered',
  usage: 'mail test [--to ADDR] [--json]',
  description:
    'Without --to the message goes to mail.to. The message bypasses the outbox and flood control;\n' +
    'a failure (connection, TLS, authentication) is printed as the mail server reported it.',
  options: {
    to: { type: 'string', value: 'ADDR', help: 'recipient instead of mail.to' },
    ...clientOptions,
  },
  positionals: { names: [], required: 0 },
  async run({ values, io, client }) {
    const to = stringOption(values, 'to');
    if (to !== undefined && !/^[^\s@<>,]+@[^\s@<>,]+$/.test(to))
      throw usageError(`--to "${to}" is not a mail address`);
    const api = await client();
    const answer = await api.request<MailTestAnswer>(
      'POST',
      '/v1/mail/test',
      to === undefined ? {} : { to },
    );
    if (flagOption(values, 'json')) {
      io.stdout(toJson(answer));
      return ExitCode.OK;
    }
    io.stdout(
      `test mail sent through ${answer.transport}\n` +
        `  to:       ${answer.accepted.join(', ')}\n` +
        (answer.rejected.length > 0 ? `  rejected: ${answer.rejected.join(', ')}\n` : '') +
        `  id:       ${answer.messageId}\n` +
        `  server:   ${answer.response === '' ? '(no answer text)' : answer.response}\n`,
    );
    return ExitCode.OK;
  },
};

/** The outbox lines of `fleetban status`. */
export function renderOutbox(o: OutboxReport): string {
  if (!o.enabled) {
    return `mail: off (mail.enabled is false)${o.pending > 0 ? `, ${o.pending} notices left in the outbox` : ''}\n`;
  }
  let out =
    `mail: ${o.transport}\n` +
    `  outbox: ${o.pending} pending, ${o.sent} sent, ${o.failedAttempts} failed attempts\n` +
    `  last success: ${o.lastSuccessAt === null ? 'never' : formatTime(o.lastSuccessAt)}\n`;
  if (o.lastError !== null) {
    out += `  last error: ${o.lastErrorAt === null ? '' : `${formatTime(o.lastErrorAt)} `}${o.lastError}\n`;
  }
  if (o.nextRetryAt !== null) out += `  next retry: ${formatTime(o.nextRetryAt)}\n`;
  return out;
}
