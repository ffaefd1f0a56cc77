// fleetban's recvmmsg(2) addon (native/udp_recv.c), loaded if it was built: many datagrams per system call.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describeError } from '../core/errors.js';

/** The addon's functions; native/udp_recv.c documents each argument. */
export interface NativeUdp {
  /** Binds a datagram socket: [fd, bound port, granted SO_RCVBUF]. Throws with code EADDRINUSE etc. */
  open(address: string, port: number, recvBufferSize: number): [number, number, number];
  /**
   * Reads up to `lengths.length` datagrams into `slots` (datagram i at i * slotSize): the count,
   * or -errno. `lengths[i]` is -1 for a datagram longer than its slot; `peers` holds five words per
   * datagram: 4 or 6, then the address as it lies in memory.
   */
  receive(
    fd: number,
    slots: Uint8Array,
    slotSize: number,
    lengths: Int32Array,
    peers: Uint32Array,
    waitMs: number,
  ): number;
  close(fd: number): void;
}

export type NativeUdpLoad =
  | { readonly ok: true; readonly addon: NativeUdp }
  | { readonly ok: false; readonly reason: string };

/** Where `npm run build` puts the addon, beside the compiled sources (dist/native). */
const ADDON = new URL('../../native/udp_recv.node', import.meta.url);

export function loadNativeUdp(): NativeUdpLoad {
  try {
    const addon = createRequire(import.meta.url)(fileURLToPath(ADDON)) as NativeUdp;
    return { ok: true, addon };
  } catch (e) {
    return { ok: false, reason: describeError(e) };
  }
}
