// Creates the structured pino logger that goes to stdout (and so to the journal under systemd).
import { pino } from 'pino';
import type { Logger } from '../core/logger.js';

export function createLogger(
  level: string,
  destination: NodeJS.WritableStream = process.stdout,
): Logger {
  return pino(
    {
      level,
      base: { name: 'fleetban', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
