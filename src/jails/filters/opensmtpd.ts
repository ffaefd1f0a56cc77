// Built-in filter for OpenSMTPD (5.x to 7.x): failed logins, relaying refused, and in aggressive mode every refused command.
import type { FilterDefinition } from './definition.js';

/**
 * OpenSMTPD starts every line of an SMTP session with the session's id, 16 hex digits it draws
 * at random, and names the client once, on the `smtp connected` line (smtp_session.c):
 *
 *     7f3a1c2b4d5e6f70 smtp connected address=203.0.113.9 host=mail.example.net
 *     7f3a1c2b4d5e6f70 smtp authentication user=bob result=permfail
 *     7f3a1c2b4d5e6f70 smtp failed-command command="AUTH LOGIN (password)" result="535 Authentication failed"
 *     7f3a1c2b4d5e6f70 smtp disconnected reason=quit
 *
 * So the failures carry `<F-SESSION>` and the filter pairs them with the address of their
 * session's `connected` line (definition.ts, sessions): only lines of the same sender, host,
 * program and pid pair, and the id is read at the line start, which the daemon writes. Client
 * text (user name, command, recipient) only follows the id, so an id or an address inside it is
 * never read. A session is forgotten on its `disconnected` line, after 10 minutes without a
 * line, or when 10,000 newer ones fill the table (session-table.ts).
 *
 * Each failed AUTH is logged twice: `authentication … result=permfail`, then the 535 reply as a
 * failed-command. The first is counted (it has the user name); 535 replies never are.
 *
 * fail2ban 1.0.2 (Debian 12) ships no OpenSMTPD filter: there is no fail2ban-regex to agree with.
 */
const SESSION = '<F-SESSION>[0-9a-f]{16}</F-SESSION>';

/** 5xx replies other than 535 (a failed AUTH, already counted by its `authentication` line). */
const REFUSED = String.raw`5(?:[0-24-9]\d|3[0-46-9])`;

const failures: readonly string[] = [
  // 6.1 and later.
  `^${SESSION} smtp authentication user=<F-USER>.*</F-USER> result=permfail$`,
  // A recipient refused: relaying attempts and guessed mailboxes (`550 Invalid recipient: <x>`).
  `^${SESSION} smtp failed-command command=".*" result="550 Invalid recipient`,
  // 5.x and 6.0: the session id ends the line, after the client's user name.
  `^smtp-in: Authentication failed for user <F-USER>.*</F-USER> on session ${SESSION}$`,
];

/** Commands refused for any other reason (no STARTTLS, no AUTH, bad syntax) and pipelining bots. */
const aggressive: readonly string[] = [
  `^${SESSION} smtp failed-command command=".*" result="${REFUSED} `,
  `^${SESSION} smtp bad-input result="5\\d\\d `,
];

export const opensmtpd: FilterDefinition = {
  description:
    'OpenSMTPD: failed logins and refused recipients (aggressive: every refused command)',
  programs: ['smtpd'],
  failregex: failures,
  ignoreregex: [],
  modes: { normal: [], aggressive },
  defaultMode: 'normal',
  sessions: {
    open: [
      `^${SESSION} smtp connected address=<ADDR> host=`,
      // 5.x and 6.0: the reverse name (no spaces) precedes the bracketed address that ends the line.
      String.raw`^smtp-in: New session ${SESSION} from host \S* \[<ADDR>\]$`,
    ],
    close: [`^${SESSION} smtp disconnected `, `^smtp-in: Closing session ${SESSION}$`],
  },
};
