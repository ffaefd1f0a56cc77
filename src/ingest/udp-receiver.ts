// The UDP receiving thread: reads datagrams off the socket, applies the allowlist and size limit, and posts them in batches.
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { describeError } from '../core/errors.js';
import { CidrSet, parseCidr, type Cidr } from '../core/ip.js';
import { BatchWriter } from './udp-batch.js';
import { loadNativeUdp, type NativeUdp } from './udp-native.js';
import { PeerBook, type Peer } from './udp-peers.js';
import {
  RecordKind,
  SharedSlot,
  type FromReceiver,
  type ReceiverSetup,
  type UdpReader,
} from './udp-protocol.js';

/*
 * Receiving is most of what a datagram costs, so it runs here, not on the main thread with the
 * parsing and the jails. With the addon the thread loops over recvmmsg(2), up to BATCH datagrams
 * a system call, as rsyslog's imudp does; without it Node's dgram costs a native-to-JS callback
 * per datagram. A postMessage costs several datagrams' worth of receiving, so records gather
 * for up to FLUSH_AFTER_MS (or until a batch is full) and cross in one message: at 200,000/s a
 * batch holds some 200 datagrams, and the delay is nothing next to a jail's findtime.
 */

const LF = 10;
const CR = 13;
const NUL = 0;
const FLUSH_AFTER_MS = 1;
/** Datagrams per recvmmsg call at most, and the slot memory that bounds it for large messages. */
const BATCH = 256;
const SLOT_MEMORY = 4 << 20;
/** Slack beyond maxMessageSize in a slot, for the trailing newlines trimmed before the size check. */
const SLOT_SLACK = 64;
/** How long an idle recvmmsg waits before looking at the stop flag again. */
const IDLE_WAIT_MS = 100;
const ERROR_REPORT_EVERY_MS = 1000;
const ERROR_PAUSE_MS = 10;

if (parentPort === null) throw new Error('udp-receiver runs only as a worker thread');
const port: MessagePort = parentPort;
const setup = workerData as ReceiverSetup;
const post = (m: FromReceiver, transfer?: ArrayBuffer[]): void => {
  port.postMessage(m, transfer);
};

const shared = new Int32Array(setup.shared);
const writer = new BatchWriter(post, shared, setup.maxBacklog, setup.maxMessageSize);
const peers = new PeerBook(
  new CidrSet(setup.allowedSenders.map((t) => parseCidr(t)).filter((c): c is Cidr => c !== null)),
);

/** Records one datagram whose text is `bytes[start, end)`. */
function take(peer: Peer, bytes: Uint8Array, start: number, end: number): void {
  if (!peer.allowed) {
    writer.add(peer.name, RecordKind.notAllowed, null);
    return;
  }
  while (end > start) {
    const c = bytes[end - 1];
    if (c !== LF && c !== NUL && c !== CR) break;
    end--;
  }
  if (end - start > setup.maxMessageSize) writer.add(peer.name, RecordKind.oversized, null);
  else writer.add(peer.name, RecordKind.message, bytes, start, end);
}

function ready(
  bound: { address: string; port: number; family: string },
  granted: number,
  reader: UdpReader,
  fallbackReason?: string,
): void {
  post({
    type: 'ready',
    ...bound,
    recvBufferSize: granted,
    reader,
    ...(fallbackReason !== undefined ? { fallbackReason } : {}),
  });
}

function finish(): void {
  writer.flush();
  post({ type: 'closed' });
  port.close();
}

/** The recvmmsg loop; returns once the listener sets the stop flag. */
function runNative(addon: NativeUdp): void {
  let fd: number;
  let boundPort: number;
  let granted: number;
  try {
    [fd, boundPort, granted] = addon.open(setup.address, setup.port, setup.recvBufferSize);
  } catch (e) {
    post({
      type: 'bind-failed',
      message: describeError(e),
      code: (e as NodeJS.ErrnoException).code,
    });
    port.close();
    return;
  }
  ready(
    { address: setup.address, port: boundPort, family: isIPv6(setup.address) ? 'IPv6' : 'IPv4' },
    granted,
    'recvmmsg',
  );

  const slotSize = setup.maxMessageSize + SLOT_SLACK;
  const batch = Math.max(1, Math.min(BATCH, Math.floor(SLOT_MEMORY / slotSize)));
  const slots = Buffer.allocUnsafeSlow(batch * slotSize);
  const lengths = new Int32Array(batch);
  const words = new Uint32Array(5 * batch);
  let firstAt = 0;
  let errors = 0;
  let lastErrorReport = -Infinity;
  while (Atomics.load(shared, SharedSlot.stop) === 0) {
    const waiting = writer.pending;
    const got = addon.receive(
      fd,
      slots,
      slotSize,
      lengths,
      words,
      waiting ? FLUSH_AFTER_MS : IDLE_WAIT_MS,
    );
    if (got <= 0) {
      if (got < 0) {
        errors++;
        const now = performance.now();
        if (now - lastErrorReport >= ERROR_REPORT_EVERY_MS) {
          post({ type: 'socket-error', message: `recvmmsg failed: errno ${-got}`, count: errors });
          errors = 0;
          lastErrorReport = now;
        }
        // A lasting error (the socket gone bad) must not spin the thread: pause, or stop if asked.
        Atomics.wait(shared, SharedSlot.stop, 0, ERROR_PAUSE_MS);
      }
      writer.flush();
      continue;
    }
    if (!waiting) firstAt = performance.now();
    const room = writer.room();
    for (let i = 0; i < got; i++) {
      if (i >= room) {
        writer.drop(got - i);
        break;
      }
      const peer = peers.byWords(words, 5 * i);
      const length = lengths[i] ?? -1;
      if (length < 0)
        writer.add(peer.name, peer.allowed ? RecordKind.oversized : RecordKind.notAllowed, null);
      else take(peer, slots, i * slotSize, i * slotSize + length);
    }
    if (performance.now() - firstAt >= FLUSH_AFTER_MS) writer.flush();
  }
  addon.close(fd);
  finish();
}

/** Node's dgram socket: one callback per datagram; stops on the listener's 'close' message. */
function runDgram(fallbackReason: string | undefined): void {
  let flushTimer: NodeJS.Timeout | null = null;
  const flushSoon = (): void => {
    flushTimer ??= setTimeout(() => {
      flushTimer = null;
      writer.flush();
    }, FLUSH_AFTER_MS);
  };
  const socket = dgram.createSocket({
    type: isIPv6(setup.address) ? 'udp6' : 'udp4',
    recvBufferSize: setup.recvBufferSize,
  });
  socket.once('error', (e: NodeJS.ErrnoException) => {
    post({ type: 'bind-failed', message: e.message, code: e.code });
    socket.close();
    port.close();
  });
  socket.bind({ address: setup.address, port: setup.port, exclusive: true }, () => {
    socket.removeAllListeners('error');
    socket.on('error', (e) => {
      post({ type: 'socket-error', message: e.message, count: 1 });
    });
    socket.on('message', (msg, rinfo) => {
      if (writer.room() <= 0) writer.drop(1);
      else take(peers.byText(rinfo.address), msg, 0, msg.length);
      flushSoon();
    });
    ready(socket.address(), socket.getRecvBufferSize(), 'dgram', fallbackReason);
  });
  port.once('message', () => {
    socket.close(() => {
      if (flushTimer !== null) clearTimeout(flushTimer);
      finish();
    });
  });
}

if (setup.reader === 'dgram') {
  runDgram(undefined);
} else {
  const native = loadNativeUdp();
  if (native.ok) runNative(native.addon);
  else runDgram(`the recvmmsg addon did not load: ${native.reason}`);
}
