// A throwaway PKI for TLS tests: a CA, a server certificate and a client certificate signed by it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificates {
  /** PEM files: the CA, the server's certificate and key, a client's certificate and key. */
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

/**
 * Makes the files in `dir` with openssl (EC P-256, valid one day). The server certificate names
 * `serverName` (CN and DNS SAN) and 127.0.0.1; the client certificate names `clientName`.
 */
export async function makeCertificates(
  dir: string,
  serverName = 'localhost',
  clientName = 'web-a.example.org',
): Promise<TestCertificates> {
  const p = (name: string) => join(dir, name);
  const openssl = async (args: string[]) => {
    try {
      await run('openssl', args, { cwd: dir });
    } catch (e) {
      assert.fail(`openssl failed (apt-get install openssl, or run .ci/run): ${String(e)}`);
    }
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const subject = (cn: string) => ['-subj', `/CN=${cn}`];
  await openssl([
    'req',
    '-x509',
    ...ec,
    '-days',
    '1',
    ...subject('fleetban test CA'),
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.pem'),
  ]);
  await writeFile(p('server.ext'), `subjectAltName=IP:127.0.0.1,DNS:${serverName}\n`);
  await writeFile(p('client.ext'), `subjectAltName=DNS:${clientName}\n`);
  for (const [name, cn] of [
    ['server', serverName],
    ['client', clientName],
  ] as const) {
    await openssl([
      'req',
      ...ec,
      ...subject(cn),
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.csr`),
    ]);
    await openssl([
      'x509',
      '-req',
      '-in',
      p(`${name}.csr`),
      '-CA',
      p('ca.pem'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      p(`${name}.pem`),
      '-extfile',
      p(`${name}.ext`),
    ]);
  }
  return {
    ca: p('ca.pem'),
    cert: p('server.pem'),
    key: p('server.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
  };
}
