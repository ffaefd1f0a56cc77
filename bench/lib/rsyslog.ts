// Runs Debian's rsyslogd in the foreground with its own config: the anchor receiver (imtcp, imudp or imrelp → omfile), or a relay (imtcp → omrelp).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createReadStream, openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import dgram from 'node:dgram';
import net from 'node:net';
import { fileSize, pinned, pollUntil, portBound, stopChild, waitForFile } from './proc.js';

export interface RsyslogOptions {
  /** Scratch folder: config, pid file, work directory, port file and the output file. */
  readonly dir: string;
  readonly core: number | null;
  readonly input: 'tcp' | 'udp' | 'relp';
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

/** A free TCP port on 127.0.0.1, for imrelp, which cannot report a port 0 binding either. */
async function freeTcpPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) =>
    server.close(() => {
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
    const fixedPort =
      options.input === 'udp'
        ? await freeUdpPort()
        : options.input === 'relp'
          ? await freeTcpPort()
          : 0;
    const inputs = {
      tcp: `module(load="imtcp")\ninput(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="${portFile}" ruleset="bench")`,
      udp: `module(load="imudp")\ninput(type="imudp" address="127.0.0.1" port="${fixedPort}" ruleset="bench"${
        options.rcvBufSize === undefined ? '' : ` rcvBufSize="${options.rcvBufSize}"`
      })`,
      relp: `module(load="imrelp")\ninput(type="imrelp" address="127.0.0.1" port="${fixedPort}" ruleset="bench")`,
    };
    const input = inputs[options.input];
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
      let port = fixedPort;
      if (options.input === 'tcp') {
        port = Number((await Promise.race([waitForFile(portFile, 20_000), exited])).trim());
      }
      await Promise.race([
        pollUntil(
          `rsyslogd on ${options.input} port ${port}`,
          async () =>
            (await portBound(options.input === 'udp' ? 'udp' : 'tcp', port)) ? true : undefined,
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

/**
 * rsyslogd as a RELP sender: whatever reaches its imtcp port is forwarded with omrelp to
 * `target`, retried until it is acknowledged. Resolves once its imtcp port is bound.
 */
export async function startRelpRelay(options: {
  readonly dir: string;
  readonly core: number | null;
  readonly target: number;
}): Promise<{ readonly port: number; close(): Promise<void> }> {
  const { dir } = options;
  const conf = join(dir, 'relay.conf');
  const portFile = join(dir, 'relay.port');
  await writeFile(
    conf,
    [
      `global(workDirectory="${dir}")`,
      'module(load="imuxsock" SysSock.Use="off")',
      'module(load="imtcp")',
      'module(load="omrelp")',
      `input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="${portFile}" ruleset="relay")`,
      `ruleset(name="relay") { action(type="omrelp" target="127.0.0.1" port="${options.target}" windowSize="1024" queue.type="LinkedList" queue.dequeueBatchSize="1024" action.resumeRetryCount="-1" action.resumeInterval="1") }`,
      '',
    ].join('\n'),
  );
  const log = openSync(join(dir, 'relay.log'), 'a');
  const [cmd, args] = pinned(options.core, 'rsyslogd', [
    '-n',
    '-f',
    conf,
    '-i',
    join(dir, 'relay.pid'),
  ]);
  const child = spawn(cmd, args, { stdio: ['ignore', log, log] });
  closeSync(log);
  try {
    const port = Number((await waitForFile(portFile, 20_000)).trim());
    await pollUntil(
      `the relay on tcp port ${port}`,
      async () => ((await portBound('tcp', port)) ? true : undefined),
      { intervalMs: 20, timeoutMs: 20_000 },
    );
    return { port, close: () => stopChild(child, 10_000) };
  } catch (e) {
    await stopChild(child);
    throw e;
  }
}
