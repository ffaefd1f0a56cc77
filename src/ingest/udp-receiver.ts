// The UDP receiving thread: reads datagrams off the socket, applies the allowlist and size limit, and posts them in batches.
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { CidrSet, parseCidr, parseIp, type Cidr } from '../core/ip.js';
import { KIND_BITS, RecordKind, type FromReceiver, type ReceiverSetup } from './udp-protocol.js';

/*
 * Node's dgram costs a native-to-JS callback per datagram, which is most of what receiving
 * costs; on this thread it no longer competes with parsing and the jails on the main thread.
 * A postMessage costs several datagrams' worth of receiving, so datagrams wait up to
 * FLUSH_AFTER_MS (or until a batch is full) and cross in one message: at 200,000/s a batch
 * holds some 200 datagrams, and the delay is nothing next to a jail's findtime.
 */

const LF = 10;
const CR = 13;
const NUL = 0;
/** Most records per batch, and the least staging space (bytes): bounds one postMessage. */
const MAX_RECORDS = 1024;
const FLUSH_AFTER_MS = 1;
const MIN_STAGING = 1 << 20;
const PEER_CACHE_LIMIT = 4096;

const port = parentPort;
if (port === null) throw new Error('udp-receiver runs only as a worker thread');
const setup = workerData as ReceiverSetup;
const post = (m: FromReceiver, transfer?: ArrayBuffer[]): void => {
  port.postMessage(m, transfer);
};

const allowed = new CidrSet(
  setup.allowedSenders.map((t) => parseCidr(t)).filter((c): c is Cidr => c !== null),
);
const backlog = new Int32Array(setup.backlog);
/** Socket address text → canonical address (IPv4-mapped IPv6 reported as IPv4). */
const canonical = new Map<string, string>();

const staging = Buffer.allocUnsafeSlow(Math.max(MIN_STAGING, setup.maxMessageSize));
const meta = new Uint32Array(2 * MAX_RECORDS);
let used = 0;
let count = 0;
let dropped = 0;
let senders: string[] = [];
let senderIndex = new Map<string, number>();
let flushTimer: NodeJS.Timeout | null = null;

function canonicalOf(peer: string): string {
  let address = canonical.get(peer);
  if (address === undefined) {
    address = parseIp(peer)?.text ?? peer;
    if (canonical.size >= PEER_CACHE_LIMIT) canonical.clear();
    canonical.set(peer, address);
  }
  return address;
}

function flush(): void {
  if (flushTimer !== null) clearTimeout(flushTimer);
  flushTimer = null;
  if (count === 0 && dropped === 0) return;
  const bytes = staging.buffer.slice(0, used);
  const records = meta.slice(0, 2 * count);
  Atomics.add(backlog, 0, count);
  post({ type: 'batch', senders, bytes, meta: records, backlogDropped: dropped }, [
    bytes,
    records.buffer,
  ]);
  used = 0;
  count = 0;
  dropped = 0;
  senders = [];
  senderIndex = new Map();
}

function add(sender: string, kind: RecordKind, msg: Buffer | null, end: number): void {
  if (count === MAX_RECORDS || (msg !== null && used + end > staging.length)) flush();
  let index = senderIndex.get(sender);
  if (index === undefined) {
    index = senders.length;
    senders.push(sender);
    senderIndex.set(sender, index);
  }
  if (msg !== null) {
    msg.copy(staging, used, 0, end);
    used += end;
  }
  meta[2 * count] = (index << KIND_BITS) | kind;
  meta[2 * count + 1] = used;
  count++;
  flushSoon();
}

function flushSoon(): void {
  flushTimer ??= setTimeout(flush, FLUSH_AFTER_MS);
}

function onMessage(msg: Buffer, peer: string): void {
  if (Atomics.load(backlog, 0) + count >= setup.maxBacklog) {
    dropped++;
    flushSoon();
    return;
  }
  const sender = canonicalOf(peer);
  if (allowed.size > 0 && !allowed.has(sender)) {
    add(sender, RecordKind.notAllowed, null, 0);
    return;
  }
  let end = msg.length;
  for (let c = msg[end - 1]; c === LF || c === NUL || c === CR; c = msg[end - 1]) end--;
  if (end > setup.maxMessageSize) add(sender, RecordKind.oversized, null, 0);
  else add(sender, RecordKind.message, msg, end);
}

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
    post({ type: 'socket-error', message: e.message });
  });
  socket.on('message', (msg, rinfo) => {
    onMessage(msg, rinfo.address);
  });
  const bound = socket.address();
  post({
    type: 'ready',
    address: bound.address,
    port: bound.port,
    family: bound.family,
    recvBufferSize: socket.getRecvBufferSize(),
  });
});

// The listener's only request ({ type: 'close' }): stop reading, hand over what was read, end.
port.once('message', () => {
  socket.close(() => {
    flush();
    post({ type: 'closed' });
    port.close();
  });
});
