// Datagram peers as the receiving thread sees them: canonical address text and allowlist verdict, cached.
import { parseIp, type CidrSet } from '../core/ip.js';

export interface Peer {
  /** Canonical address text (IPv4-mapped IPv6 reported as IPv4). */
  readonly name: string;
  /** Whether `ingest.allowedSenders` admits it (always, when the list is empty). */
  readonly allowed: boolean;
}

/** Peers remembered at most; a botnet of spoofed sources clears the cache instead of growing it. */
const CACHE_LIMIT = 4096;

export class PeerBook {
  readonly #allowed: CidrSet;
  readonly #byText = new Map<string, Peer>();
  readonly #byV4 = new Map<number, Peer>();

  constructor(allowed: CidrSet) {
    this.#allowed = allowed;
  }

  /** A peer from its socket address text (Node's dgram). */
  byText(text: string): Peer {
    let peer = this.#byText.get(text);
    if (peer === undefined) {
      peer = this.#peer(parseIp(text)?.text ?? text);
      if (this.#byText.size >= CACHE_LIMIT) this.#byText.clear();
      this.#byText.set(text, peer);
    }
    return peer;
  }

  /**
   * A peer from the addon's five words at `words[at]`: 4 then the IPv4 address, or 6 then the
   * IPv6 address, as they lie in memory (network byte order, read little-endian here).
   */
  byWords(words: Uint32Array, at: number): Peer {
    if (words[at] === 4) {
      const w = words[at + 1] ?? 0;
      let peer = this.#byV4.get(w);
      if (peer === undefined) {
        peer = this.#peer(`${w & 255}.${(w >>> 8) & 255}.${(w >>> 16) & 255}.${w >>> 24}`);
        if (this.#byV4.size >= CACHE_LIMIT) this.#byV4.clear();
        this.#byV4.set(w, peer);
      }
      return peer;
    }
    const groups: string[] = [];
    for (let k = 1; k <= 4; k++) {
      const w = words[at + k] ?? 0;
      const high = ((w & 255) << 8) | ((w >>> 8) & 255);
      const low = (((w >>> 16) & 255) << 8) | (w >>> 24);
      groups.push(high.toString(16), low.toString(16));
    }
    return this.byText(groups.join(':'));
  }

  #peer(name: string): Peer {
    return { name, allowed: this.#allowed.size === 0 || this.#allowed.has(name) };
  }
}
