// The dashboard's static files, all local (the box may have no internet): read once at start, gzipped once.
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { APP_CSS } from './styles.js';

export interface Asset {
  readonly type: string;
  readonly body: Buffer;
  readonly gzip: Buffer;
}

/** The page code, compiled by the project's tsc next to this file (dist/src/dashboard/web/). */
const WEB_DIR = fileURLToPath(new URL('./web/', import.meta.url));

function asset(type: string, body: Buffer): Asset {
  return { type, body, gzip: gzipSync(body, { level: 9 }) };
}

/** Source maps stay out: the page code is small and readable as compiled. */
function withoutSourceMap(js: string): Buffer {
  return Buffer.from(js.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'));
}

/** Path (`/assets/…`) → file. Throws naming the file when one is missing (a broken install). */
export async function loadAssets(): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  assets.set('/assets/app.css', asset('text/css; charset=utf-8', Buffer.from(APP_CSS)));
  const require = createRequire(import.meta.url);
  const uplot = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
  for (const [name, type] of [
    ['uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
    ['uPlot.min.css', 'text/css; charset=utf-8'],
  ] as const) {
    assets.set(`/assets/${name}`, asset(type, await readFile(join(uplot, name))));
  }
  for (const name of await readdir(WEB_DIR)) {
    if (!name.endsWith('.js')) continue;
    const js = await readFile(join(WEB_DIR, name), 'utf8');
    assets.set(`/assets/js/${name}`, asset('text/javascript; charset=utf-8', withoutSourceMap(js)));
  }
  return assets;
}
