// Runs Debian's rsyslogd in the foreground with its own config as the anchor receiver (imtcp or imudp → omfile).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createReadStream, openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import dgram from 'node:dgram';
import { fileSize, pinned, pollUntil, portBound, stopChild, waitForFile } from './proc.js';

export interface RsyslogOptions {
  /** Scratch folder: config, pid file, work directory, port file and the output file. */
  readonly dir: string;
  readonly core: number | null;
  readonly input: 'tcp' | 'udp';
  /** imudp's rcvbufsize in bytes (UDP only). */
  readonly rcvBufSize?: number;
}

/** A free UDP port on 127.0.0.1: imudp cannot report a port 0 binding the way imtcp can. */
async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) =>
    s.close(() => {
      resolve();
    }),
  );
  return port;
}

export class Rsyslog {
  readonly child: ChildProcess;
  readonly port: number;
  readonly outFile: string;

  private constructor(child: ChildProcess, port: number, outFile: string) {
    this.child = child;
    this.port = port;
    this.outFile = outFile;
  }

  static async start(options: RsyslogOptions): Promise<Rsyslog> {
    const { dir } = options;
    const conf = join(dir, 'rsyslog.conf');
    const outFile = join(dir, 'out.log');
    const portFile = join(dir, 'tcp.port');
    const udpPort = options.input === 'udp' ? await freeUdpPort() : 0;
    const input =
      options.input === 'tcp'
        ? `module(load="imtcp")\ninput(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="${portFile}" ruleset="bench")`
        : `module(load="imudp")\ninput(type="imudp" address="127.0.0.1" port="${udpPort}" ruleset="bench"${
            options.rcvBufSize === undefined ? '' : ` rcvBufSize="${options.rcvBufSize}"`
          })`;
    // The ruleset keeps rsyslog's own start/stop messages out of the counted file.
    await writeFile(
      conf,
      [
        `global(workDirectory="${dir}")`,
        'module(load="imuxsock" SysSock.Use="off")',
        input,
        `ruleset(name="bench") { action(type="omfile" file="${outFile}") }`,
        '',
      ].join('\n'),
    );
    const log = openSync(join(dir, 'rsyslogd.log'), 'a');
    const [cmd, args] = pinned(options.core, 'rsyslogd', [
      '-n',
      '-f',
      conf,
      '-i',
      join(dir, 'rsyslogd.pid'),
    ]);
    const child = spawn(cmd, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    const exited = new Promise<never>((_, reject) => {
      child.once('exit', (code, signal) => {
        reject(new Error(`rsyslogd exited (${code ?? signal}) before it was ready`));
      });
      child.once('error', reject);
    });
    try {
      let port = udpPort;
      if (options.input === 'tcp') {
        port = Number((await Promise.race([waitForFile(portFile, 20_000), exited])).trim());
      }
      await Promise.race([
        pollUntil(
          `rsyslogd on ${options.input} port ${port}`,
          async () => ((await portBound(options.input, port)) ? true : undefined),
          {
            intervalMs: 20,
            timeoutMs: 20_000,
          },
        ),
        exited,
      ]);
      return new Rsyslog(child, port, outFile);
    } catch (e) {
      await stopChild(child);
      throw e;
    } finally {
      exited.catch(() => undefined);
    }
  }

  outputBytes(): Promise<number> {
    return fileSize(this.outFile);
  }

  /** Lines written so far (reads the whole file: call once at the end). */
  async outputLines(): Promise<number> {
    let n = 0;
    for await (const chunk of createReadStream(this.outFile)) {
      const buf = chunk as Buffer;
      for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
    }
    return n;
  }

  async close(): Promise<void> {
    await stopChild(this.child, 10_000);
  }
}
