// RELP (rsyslog omrelp) on a stream listener: each message handed to the sink, then acknowledged; protocol errors end the connection.
import { fleetbanVersion } from '../core/version.js';
import { RelpFrameError } from './relp-frame.js';
import { RelpSession } from './relp-session.js';
import type { StreamProtocol } from './stream-protocol.js';

/** Room for the client's open offers even when the message limit is set lower. */
const MIN_DATA_SIZE = 4096;

/**
 * Acknowledged delivery: `sink.accept` runs (parse and jails) before the answer to the message
 * is queued, and answers are written once per chunk read. A client that sends without reading
 * its answers is paused until they drain, so it cannot make the server buffer them without end.
 */
export function relpStream(): StreamProtocol {
  const software = `fleetban,${fleetbanVersion()}`;
  return (conn, ctx, counters) => {
    const { delivery, limits } = ctx;
    const carrier = conn.carrier;
    // Answers are small and the client's window waits on them: Nagle's delay would pace the session.
    carrier.setNoDelay(true);
    let draining = false;
    const session = new RelpSession(
      {
        maxDataSize: Math.max(limits.maxStreamFrame, MIN_DATA_SIZE),
        maxMessageSize: limits.maxStreamFrame,
        software,
      },
      {
        message: (buf, start, end) => {
          delivery.deliver(buf, start, end, conn.sender, counters, 'relp', conn.receivedAt);
        },
        send: (text) => {
          if (carrier.destroyed) return;
          if (!carrier.write(text) && !draining) {
            draining = true;
            carrier.pause();
            carrier.once('drain', () => {
              draining = false;
              carrier.resume();
            });
          }
        },
        finish: (failure) => {
          if (failure !== null) {
            if (failure === RelpFrameError.TOO_LARGE) {
              conn.sender.oversized++;
              counters.oversized++;
            }
            conn.fail(failure);
            // The peer broke the protocol: what it still sends is not read, so do not wait for it long.
            setTimeout(() => carrier.destroy(), limits.closeGraceMs).unref();
          }
          carrier.end();
        },
      },
    );
    return {
      push: (chunk) => {
        session.push(chunk);
      },
      end: () => {
        session.end();
      },
      close: () => {
        session.serverClose();
      },
    };
  };
}
