// Attacker addresses and sshd failure lines for the agent benchmarks: 198.18.0.0/15, the benchmarking range (RFC 2544).

const BASE = (198 << 24) | (18 << 16);
/** 198.18.0.0/15 holds 131,072 addresses. */
export const ATTACKER_SPACE = 131_072;

/** Attacker i (0 ≤ i < 131,071): 198.18.0.1, 198.18.0.2, … 198.19.255.255. */
export function attacker(i: number): string {
  if (!Number.isInteger(i) || i < 0 || i + 1 >= ATTACKER_SPACE) {
    throw new RangeError(`attacker ${i} is outside 198.18.0.0/15`);
  }
  const n = (BASE + i + 1) >>> 0;
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * One RFC 5424 sshd failure line as rsyslog forwards it, stamped now (the server's clock-skew
 * guard refuses implausible times); `host` varies so the failures count fleet-wide.
 */
export function failureLine(address: string, host: number, port: number): string {
  return `<38>1 ${new Date().toISOString()} web${String(host).padStart(2, '0')} sshd 4242 - - Failed password for root from ${address} port ${port} ssh2`;
}
