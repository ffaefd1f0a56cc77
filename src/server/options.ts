// Turns the validated configuration into each part's own options: the one place that knows both shapes.
import { hostname } from 'node:os';
import { CidrSet, parseCidr, type Cidr } from '../core/ip.js';
import type { FleetbanConfig, MailConfig } from '../config/load.js';
import type { AuthLimitOptions } from '../control/auth-limiter.js';
import type { IngestOptions } from '../ingest/options.js';
import type { Mailer } from '../notify/mailer.js';
import { NodemailerTransport } from '../notify/smtp-transport.js';

/** The valid prefixes of a list the config loader has already checked. */
export function parseAll(items: readonly string[]): Cidr[] {
  return items.map((s) => parseCidr(s)).filter((c): c is Cidr => c !== null);
}

export function mailTransport(m: MailConfig): NodemailerTransport {
  if (m.transport === 'sendmail')
    return new NodemailerTransport({ kind: 'sendmail', path: m.sendmail.path }, m.from);
  return new NodemailerTransport(
    {
      kind: 'smtp',
      host: m.smtp.host,
      port: m.smtp.port,
      secure: m.smtp.secure,
      requireTLS: m.smtp.requireTLS,
      user: m.smtp.user,
      pass: m.smtp.pass,
      rejectUnauthorized: m.smtp.tls.rejectUnauthorized,
      ca: m.smtp.tls.ca,
    },
    m.from,
  );
}

export function mailerOptions(m: MailConfig): ConstructorParameters<typeof Mailer>[0]['options'] {
  return {
    to: m.to,
    groupWaitMs: m.groupWait * 1000,
    groupThreshold: m.groupThreshold,
    maxPerHour: m.maxPerHour,
    retryMinMs: m.retryMin * 1000,
    retryMaxMs: m.retryMax * 1000,
    lifecycle: m.lifecycle,
    timeZone: m.timeZone,
    hostname: hostname(),
  };
}

export function ingestOptions(c: FleetbanConfig): IngestOptions {
  const i = c.ingest;
  return {
    udp: {
      enabled: i.udp.enabled,
      address: i.udp.address,
      port: i.udp.port,
      recvBufferSize: i.udp.recvBufferSize,
    },
    tcp: { enabled: i.tcp.enabled, address: i.tcp.address, port: i.tcp.port },
    tls: {
      enabled: i.tls.enabled,
      address: i.tls.address,
      port: i.tls.port,
      ...(i.tls.cert !== '' ? { cert: i.tls.cert } : {}),
      ...(i.tls.key !== '' ? { key: i.tls.key } : {}),
      ...(i.tls.ca !== '' ? { ca: i.tls.ca } : {}),
      requestClientCert: i.tls.requireClientCert,
    },
    relp: {
      enabled: i.relp.enabled,
      address: i.relp.address,
      port: i.relp.port,
      tls: i.relp.tls,
    },
    journal: {
      enabled: i.journal.enabled,
      address: i.journal.address,
      port: i.journal.port,
      tls: i.journal.tls,
    },
    maxMessageSize: i.maxMessageSize,
    maxConnections: i.maxConnections,
    maxConnectionsPerSender: i.maxConnectionsPerSender,
    maxConnectionBuffer: i.maxConnectionBuffer,
    idleTimeoutMs: i.idleTimeout * 1000,
    firstFrameTimeoutMs: Math.round(i.firstFrameTimeout * 1000),
    allowedSenders: new CidrSet(parseAll(i.allowedSenders)),
  };
}

export function authLimitOptions(c: FleetbanConfig): AuthLimitOptions {
  const a = c.apiAuth;
  return {
    maxFailures: a.maxFailures,
    windowMs: a.window * 1000,
    maxSources: a.maxSources,
    logIntervalMs: a.logInterval * 1000,
  };
}
