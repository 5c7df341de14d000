import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './process.js';

const REPO = new URL('../../../', import.meta.url).pathname;
const run = promisify(execFile);

/** PEM files a test made with openssl: a CA, the broker's and a client's certificates, and a CA that signs neither. */
export interface TestCertificates {
  dir: string;
  ca: string;
  clientCert: string;
  clientKey: string;
  /** A CA of its own that signed nothing the broker uses: trusting only it must fail the handshake. */
  otherCa: string;
}

/**
 * Makes the certificates in `dir`: `ca.pem`, `broker.crt`/`broker.key` (SANs IP:127.0.0.1 and
 * DNS:localhost, what scripts/kafka's KAFKA_SSL_DIR wants), `client.crt`/`client.key`, `other-ca.pem`.
 */
export async function makeCertificates(dir: string): Promise<TestCertificates> {
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const selfSigned = (name: string, cn: string) =>
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.pem`);
  const signedBy = async (name: string, cn: string, extensions: string) => {
    await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), extensions);
    await openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      `${name}.crt`,
      '-extfile',
      `${name}.ext`,
    );
  };
  await Promise.all([selfSigned('ca', 'unicop-test-ca'), selfSigned('other-ca', 'unicop-test-other-ca')]);
  await signedBy('broker', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await signedBy('client', 'unicop-receiver', 'extendedKeyUsage=clientAuth\n');
  return { dir, ca: join(dir, 'ca.pem'), clientCert: join(dir, 'client.crt'), clientKey: join(dir, 'client.key'), otherCa: join(dir, 'other-ca.pem') };
}

/**
 * A broker of its own (scripts/kafka, free ports) with a SASL_SSL listener (SCRAM-SHA-256/512 and
 * PLAIN for one user) and an SSL listener that wants a client certificate, both with the test's certificates.
 */
export async function secureBroker() {
  const dir = mkdtempSync(join(tmpdir(), 'unicop-secure-broker-'));
  const certificates = await makeCertificates(dir);
  const user = { name: 'unicop', password: `pw-${randomBytes(12).toString('hex')}` };
  const [port, controller, saslSsl, ssl] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const env = {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controller),
    KAFKA_SASL_SSL_PORT: String(saslSsl),
    KAFKA_SSL_PORT: String(ssl),
    KAFKA_SSL_DIR: dir,
    KAFKA_SASL_USERS: `${user.name}:${user.password}`,
    KAFKA_DATA_DIR: join(dir, 'kafka'),
  };
  const kafka = (command: 'up' | 'down') => run(`${REPO}scripts/kafka`, [command], { env, timeout: 180_000 });
  await kafka('up');
  // Used as it comes: a brand-new cluster answers "coordinator not available" while it creates
  // __consumer_offsets, and the reconciler's consumer must get over that (TopicConsumer restarts it).
  return {
    certificates,
    user,
    /** The PLAINTEXT listener (the broker's own and scripts/kafka's readiness check). */
    plaintext: `127.0.0.1:${port}`,
    saslSsl: `127.0.0.1:${saslSsl}`,
    ssl: `127.0.0.1:${ssl}`,
    async close() {
      await kafka('down').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type SecureBroker = Awaited<ReturnType<typeof secureBroker>>;
