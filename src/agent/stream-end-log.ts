// How the agent reports a stream that ended: one log line naming the server and what comes next, and its counter.
import type { Logger } from '../core/logger.js';
import { AgentCounter, type AgentMetrics } from './metrics.js';
import type { StreamEnd } from './stream-client.js';

export interface EndReport {
  /** The server whose stream ended. */
  readonly server: string;
  readonly end: StreamEnd;
  /** The server tried next (the same one when it is the only one). */
  readonly next: string;
  /** Milliseconds before that attempt. */
  readonly delay: number;
}

/** Logs the end (an auth refusal as an error: it needs a person) and counts auth failures and ping timeouts. */
export function logStreamEnd(logger: Logger, metrics: AgentMetrics, report: EndReport): void {
  const { server, end, next, delay } = report;
  const fields = { server, next, retryInMs: delay };
  const then =
    delay === 0 ? `: trying ${next} now` : `: trying ${next} in ${(delay / 1000).toFixed(1)} s`;
  switch (end.kind) {
    case 'refused':
      if (end.status === 401 || end.status === 403) {
        metrics.inc(AgentCounter.AUTH_FAILURES);
        logger.error(
          { ...fields, status: end.status },
          `the server refused the token (${end.status}) at ${server}: check token in the agent config, and that the agent is registered there${then}`,
        );
      } else {
        logger.warn(
          { ...fields, status: end.status, body: end.body },
          `the server ${server} answered ${end.status}${then}`,
        );
      }
      return;
    case 'failed':
      logger.warn(
        { ...fields, err: end.error.message },
        `cannot reach the server ${server}: ${end.error.message}${then}`,
      );
      return;
    case 'idle':
      metrics.inc(AgentCounter.PING_TIMEOUTS);
      logger.warn(fields, `nothing from the server ${server} for 3 ping intervals${then}`);
      return;
    case 'ended':
      logger.warn(fields, `the server ${server} closed the stream${then}`);
      return;
    case 'closed':
      return;
  }
}

/** A stream's end in a few words, after the server's URL: for the line that reports a switch. */
export function describeStreamEnd(end: StreamEnd): string {
  switch (end.kind) {
    case 'refused':
      return `answered ${end.status}`;
    case 'failed':
      return `failed: ${end.error.message}`;
    case 'idle':
      return 'sent nothing for 3 ping intervals';
    case 'ended':
      return 'closed the stream';
    case 'closed':
      return 'was closed';
  }
}
