// `fleetban import-fail2ban [DIR]`: converts fail2ban's enabled jails into fleetban jail files and reports what carried over.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importFail2ban, type ImportResult } from '../../fail2ban/import.js';
import { flagOption, stringOption, toJson, type Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';

export const importFail2banCommand: Command = {
  name: 'import-fail2ban',
  summary: 'turn fail2ban jails (jail.conf, jail.local, jail.d/) into fleetban jail files',
  usage: 'import-fail2ban [DIR] [--out DIR] [--json]',
  description:
    'DIR is the fail2ban configuration folder (default /etc/fail2ban). Each enabled jail becomes\n' +
    'OUT/fail2ban-JAIL.json; filters become a built-in of the same name or fail2ban:NAME[...].\n' +
    'Without --out nothing is written: the jails and the report are printed.',
  options: {
    out: {
      type: 'string',
      value: 'DIR',
      help: 'folder to write the jail files to (e.g. /etc/fleetban/jails.d)',
    },
    json: { type: 'boolean', help: 'print the jails and the report as JSON' },
  },
  positionals: { names: ['DIR'], required: 0 },
  run({ values, positionals, io }) {
    const dir = positionals[0] ?? '/etc/fail2ban';
    const result = importFail2ban(dir);
    const out = stringOption(values, 'out');
    const written: string[] = [];
    if (out !== undefined) {
      mkdirSync(out, { recursive: true });
      for (const [name, options] of Object.entries(result.jails)) {
        const file = join(out, `fail2ban-${name}.json`);
        writeFileSync(file, `${JSON.stringify({ [name]: options }, null, 2)}\n`);
        written.push(file);
      }
    }
    io.stdout(
      flagOption(values, 'json') ? toJson({ ...result, written }) : render(result, written),
    );
    return Promise.resolve(result.skipped.length > 0 ? ExitCode.FAILED : ExitCode.OK);
  },
};

function render(r: ImportResult, written: readonly string[]): string {
  const lines: string[] = [`read: ${r.files.join(', ')}`];
  for (const [name, options] of Object.entries(r.jails)) {
    lines.push('', `[${name}] → ${JSON.stringify(options)}`);
    for (const n of r.notes.filter((x) => x.jail === name)) {
      const why = n.why === '' ? '' : `: ${n.why}`;
      lines.push(
        `  ${n.outcome.padEnd(8)} ${n.key} = ${n.value.split('\n').join(' ').slice(0, 60)}${why}`,
      );
    }
  }
  for (const s of r.skipped) lines.push('', `[${s.jail}] not imported: ${s.why}`);
  if (written.length > 0)
    lines.push('', `wrote ${written.length} jail file(s):`, ...written.map((f) => `  ${f}`));
  else lines.push('', 'nothing written (use --out DIR)');
  return `${lines.join('\n')}\n`;
}
