// Built-in filter for Postfix 3.7 (Debian 12): SASL failures, rejected clients, RBL hits, postscreen and ddos patterns.
import type { FilterDefinition } from './definition.js';
import { runExcept } from './regex-text.js';

/**
 * `name[address]` or `[address]` with an optional `:port`, as smtpd and postscreen print a client.
 * It comes before any client text (HELO, sender, recipient, SASL data) and the name cannot hold
 * `[` (postfix prints `unknown` for a name that is not a valid host name): the first one is postfix's.
 */
const CLIENT = String.raw`[^\[\s]{0,255}\[<HOST>\](?::\d{1,5})?`;
const QUEUE = '(?:NOQUEUE|[0-9A-Za-z]{5,20})';

const reject = String.raw`^${QUEUE}: (?:milter-)?reject: [A-Z]{4} from ${CLIENT}: [45][50][04] [45]\.\d\.\d{1,3} (?:(?:<[^>]{0,1024}>)?: )?(?:(?:Helo command|(?:Sender|Recipient) address) rejected: )?(?:Service unavailable|(?:Client host|Command|Data command) rejected|Relay access denied|(?:Host|Domain) not found|need fully-qualified hostname|match|[Uu]ser unknown|[Uu]ndeliverable address)\b`;
const pipelining = String.raw`^(?:improper command pipelining|too many errors) after [A-Z]{1,16} from ${CLIENT}(?::|\s*$)`;
/**
 * A client that speaks something else than SMTP (an HTTP or proxy probe on port 25): smtpd's
 * `warning: non-SMTP command from unknown[ADDR]: GET / HTTP/1.1` and postscreen's `NON-SMTP
 * COMMAND from [ADDR]:PORT after CONNECT: …`. The command is client text after the address.
 * fail2ban 1.0.2 has no pattern for them: a deliberate difference.
 */
const nonSmtp = String.raw`^(?:warning: non-SMTP command|NON-SMTP COMMAND) from ${CLIENT}(?: after [A-Z]{1,16})?: `;
/** Any SASL mechanism (fail2ban lists LOGIN, PLAIN, CRAM-MD5 and DIGEST-MD5 only). */
const SASL = String.raw`^warning: ${CLIENT}: SASL [A-Za-z0-9-]{1,20} authentication failed:`;
/**
 * SASL failures that are no login attempt, excluded by ignoreregex (a negative lookahead would
 * keep the pattern off the linear-time engine). A lost connection to the auth server is the
 * server's problem, never the client's; a mechanism the server does not offer counts only in
 * aggressive mode.
 */
const saslLost = `${SASL} Connection lost to authentication server`;
const saslMechanism = `${SASL} Invalid authentication mechanism`;
/** Blocked by a DNS blocklist: smtpd says "Client host [..] blocked", postscreen "client [..] blocked". */
const rbl = String.raw`^${QUEUE}: reject: RCPT from ${CLIENT}: [45]5[04] [45]\.7\.1 Service unavailable; [Cc]lient(?: host)? \[[^\]\s]{1,64}\] blocked\b`;
/**
 * postscreen's DNSBL score, logged when it reaches postscreen_dnsbl_threshold: `DNSBL rank N for
 * [ADDR]:PORT`, no client text. Counted with the other blocklist hits (fail2ban 1.0.2 has none).
 */
const dnsblRank = String.raw`^DNSBL rank \d{1,4} for \[<HOST>\]:\d{1,5}\s*$`;
const ddos: readonly string[] = [
  // After DATA the client has sent its mail: a lost connection there is not a probe.
  String.raw`^lost connection after ${runExcept('[A-Z]', 1, 16, 'DATA', 'whole')} from ${CLIENT}\s*$`,
  String.raw`^disconnect from ${CLIENT}(?: [a-z]{1,16}=\d{1,6}(?:/\d{1,6})?){0,20} auth=0/[1-9]\d{0,5}\b`,
  String.raw`^(?:PREGREET \d+|HANGUP) after \S+ from ${CLIENT}\b`,
  String.raw`^COMMAND (?:TIME|COUNT|LENGTH) LIMIT from ${CLIENT}\b`,
];
const errors = String.raw`^too many errors after [A-Z]{1,16} from ${CLIENT}\s*$`;

/**
 * Modes follow fail2ban's names. fleetban's default `normal` counts SASL failures and rejects
 * together (fail2ban's `extra`); `more` is fail2ban's default (rejects only), `auth` SASL only.
 */
export const postfix: FilterDefinition = {
  description: 'Postfix: SASL login failures, rejected clients, RBL hits, postscreen/ddos',
  // `postfix*` also covers second instances (`postfix-out/smtpd`) and the submission services.
  programs: ['postfix*/smtpd', 'postfix*/postscreen'],
  failregex: [],
  ignoreregex: [saslLost],
  modes: {
    normal: [SASL, reject, pipelining, nonSmtp],
    extra: [SASL, reject, pipelining, nonSmtp],
    more: [reject, pipelining, nonSmtp],
    auth: [SASL],
    rbl: [rbl, dnsblRank],
    ddos,
    errors: [errors],
    aggressive: [SASL, reject, pipelining, nonSmtp, ...ddos],
  },
  modeIgnoreregex: { normal: [saslMechanism], extra: [saslMechanism], auth: [saslMechanism] },
  defaultMode: 'normal',
};
