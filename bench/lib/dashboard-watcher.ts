// An open Bans page, without a browser: signs in, follows /api/events, and fetches the newest page of bans whenever the feed moved.
import { hashToken } from '../../src/distribute/tokens.js';

/** users.json for a server's store folder: one admin whose token the watcher signs in with. */
export function usersFile(token: string): string {
  return JSON.stringify({
    version: 1,
    users: [{ name: 'bench', role: 'admin', tokenHash: hashToken(token), created: 0 }],
  });
}

export interface Watcher {
  /** Events received and bans pages fetched so far. */
  readonly counts: { events: number; pages: number };
  stop(): Promise<void>;
}

export async function watchDashboard(url: string, token: string): Promise<Watcher> {
  const base = url.replace(/\/$/, '');
  const login = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { origin: base, 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  if (login.status !== 200) throw new Error(`dashboard sign-in answered ${login.status}`);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const abort = new AbortController();
  const counts = { events: 0, pages: 0 };
  const events = await fetch(`${base}/api/events`, { headers: { cookie }, signal: abort.signal });
  const body = events.body;
  if (body === null) throw new Error('the event stream has no body');
  let lastSeq = -1;
  const follow = (async () => {
    const decoder = new TextDecoder();
    let buffered = '';
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = /^data: (.*)$/m.exec(event)?.[1];
        if (data === undefined) continue;
        counts.events++;
        const seq = (JSON.parse(data) as { lastSeq: number }).lastSeq;
        if (seq === lastSeq) continue;
        lastSeq = seq;
        const page = await fetch(`${base}/api/bans?limit=50`, {
          headers: { cookie },
          signal: abort.signal,
        });
        await page.arrayBuffer();
        counts.pages++;
      }
    }
  })().catch(() => undefined);
  return {
    counts,
    stop: async () => {
      abort.abort();
      await follow;
    },
  };
}
