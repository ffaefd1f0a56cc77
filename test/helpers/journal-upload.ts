// Runs Debian's real systemd-journal-upload: a journal file made from export-format entries, uploaded to a URL.
import { execFile, spawn } from 'node:child_process';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const INSTALL_HINT =
  'apt-get install systemd-journal-remote (or npm run test:all as root, which installs what the tests need)';
export const JOURNAL_UPLOAD = '/lib/systemd/systemd-journal-upload';
export const JOURNAL_REMOTE = '/lib/systemd/systemd-journal-remote';

/** Throws naming the package when the binaries are missing: these tests never skip silently. */
export async function requireJournalTools(): Promise<void> {
  for (const path of [JOURNAL_UPLOAD, JOURNAL_REMOTE]) {
    try {
      await access(path);
    } catch {
      throw new Error(`${path} not found: ${INSTALL_HINT}`);
    }
  }
}

/** One journal entry's text fields, as `journalctl -o export` writes them. */
export type ExportEntry = Readonly<Record<string, string>>;

/** Entries in journal export format (text fields only). */
export function exportText(entries: readonly ExportEntry[]): string {
  return entries
    .map(
      (e) =>
        Object.entries(e)
          .map(([k, v]) => `${k}=${v}\n`)
          .join('') + '\n',
    )
    .join('');
}

/**
 * Writes `dir/NAME.journal` from the entries, converted by systemd-journal-remote itself (it
 * reads an export stream on stdin), so the uploader reads a real journal file.
 */
export async function makeJournalFile(
  dir: string,
  name: string,
  entries: readonly ExportEntry[],
): Promise<string> {
  const exportFile = join(dir, `${name}.export`);
  const journal = join(dir, `${name}.journal`);
  await writeFile(exportFile, exportText(entries));
  await new Promise<void>((resolve, reject) => {
    const child = spawn(JOURNAL_REMOTE, [`--output=${journal}`, exportFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`systemd-journal-remote exited with ${String(code)}: ${err}`));
    });
  });
  return journal;
}

export interface UploadResult {
  readonly code: number | null;
  readonly stderr: string;
}

/** Uploads every entry of `file` to `url` and waits for the uploader to exit. */
export async function journalUpload(
  file: string,
  url: string,
  extra: readonly string[] = [],
): Promise<UploadResult> {
  try {
    const r = await run(
      JOURNAL_UPLOAD,
      [`--url=${url}`, `--file=${file}`, '--follow=no', ...extra],
      {
        timeout: 60_000,
      },
    );
    return { code: 0, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number | null; stderr?: string };
    return {
      code: typeof err.code === 'number' ? err.code : null,
      stderr: err.stderr ?? String(e),
    };
  }
}
