// Built-in filter for Asterisk 13 to 20 (chan_sip, chan_pjsip, chan_iax2, the manager and the security log): failed registrations, authentications and ACL refusals.
import type { FilterDefinition } from './definition.js';

/**
 * `[time] ` (Asterisk's own log file, relayed), `LEVEL[pid][C-callid]: file.c:line in func: `,
 * older `LEVEL[pid] file.c: `: Asterisk's text before the message.
 */
const PREFIX = String.raw`^(?:\[[^\]]{1,64}\] )?(?:NOTICE|SECURITY|WARNING) ?\[\d+\]:?(?:\[C-[\da-f]{1,16}\])?:? [^:\s]{1,128}:\d*(?:(?: in)? [^:\s]{1,128}:)? `;
/** The SIP client as chan_sip and res_pjsip quote it: `'ADDR'`, `'ADDR:PORT'`, `'[ADDR]:PORT'`. */
const SIP_PEER = String.raw`'<HOST>(?::\d+)?'`;

/**
 * The From header (and PJSIP's method) is the client's text, before the address: matched
 * greedily, the line anchored at its end on Asterisk's own reason, so the last address wins
 * (docs/filters.md). After PJSIP's address comes the Call-ID, also the client's, but a Call-ID
 * holds no spaces (RFC 3261 `word`), so no copy of the tail fits in it.
 */
const sip: readonly string[] = [
  String.raw`${PREFIX}Registration from '.*' failed for ${SIP_PEER} - (?:Wrong password|Username/auth name mismatch|No matching peer found|Not a local domain|Device does not match ACL|Peer is not supposed to register|ACL error \(permit/deny\))\s*$`,
  String.raw`${PREFIX}Request (?:'.*' )?from '.*' failed for ${SIP_PEER} \(callid: \S*\) - (?:No matching endpoint found|Not match Endpoint(?: Contact)? ACL|(?:Failed|Error) to authenticate)\s*$`,
  String.raw`${PREFIX}No registration for peer '.*' \(from <HOST>\)\s*$`,
  // The peer comes first in these (IAX2, the manager), before the client's user name.
  String.raw`${PREFIX}(?:Host )?<HOST> (?:failed to authenticate as|failed MD5 authentication for|tried to authenticate with nonexistent user) '`,
  String.raw`${PREFIX}hacking attempt detected '<HOST>'\s*$`,
  // FreePBX's dialplan logs the channel's received address with Log(): `Ext. EXTEN[:PRIO] in @ CONTEXT: "…"`.
  String.raw`^(?:\[[^\]]{1,64}\] )?WARNING ?\[\d+\]:?(?:\[C-[\da-f]{1,16}\])?:? Ext\. [^\s:]{1,64}:\d*(?: in @ [^\s:]{1,64}:)? "Rejecting unknown SIP connection from <HOST>(?::\d+)?"\s*$`,
];

/**
 * The security log: `SecurityEvent="NAME",…,AccountID="…",SessionID="…",LocalAddress="…",
 * RemoteAddress="IPV4/UDP/ADDR/PORT"[,…]`. Account and session IDs are the client's, unescaped,
 * before the address: matched greedily, so the last RemoteAddress is taken, and only fields
 * whose values hold no quote may follow it, so none of them can hold a copy.
 */
const security = String.raw`${PREFIX}SecurityEvent="(?:FailedACL|InvalidAccountID|ChallengeResponseFailed|InvalidPassword)",.*,RemoteAddress="IPV[46]/[A-Z]{2,3}/<ADDR>/\d+"(?:,\w{1,32}="[^"]*")*\s*$`;

/**
 * Deliberate difference from fail2ban 1.0.2: `Call from 'NAME' (ADDR:PORT) to extension 'EXTEN'
 * rejected…` is not matched. chan_sip may write a client's name before the address and always
 * writes the dialled extension (the client's, decoded) after it, with no delimiter between.
 */
export const asterisk: FilterDefinition = {
  description: 'Asterisk: failed SIP/IAX2/manager authentications and ACL refusals',
  programs: ['asterisk'],
  failregex: [...sip, security],
  ignoreregex: [],
};
