import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A key pair and certificate as files, with what a test compares against. */
export interface Issued {
  cert: string;
  key: string;
  /** Upper-case hex, as `getPeerCertificate().serialNumber` gives it. */
  serial: string;
  subject: string;
}

/** Certificates a TLS test needs, made with the `openssl` command line in a temporary directory. */
export interface TestCertificates {
  dir: string;
  ca: Issued;
  /** Two server certificates for 127.0.0.1 from `ca`, told apart by serial and subject (rotation). */
  server: Issued;
  nextServer: Issued;
  /** A client certificate from `ca` (clientAuth). */
  client: Issued;
  /** A CA nobody trusts, and a client certificate it signed. */
  stranger: Issued;
  strangerClient: Issued;
  /** `server`'s key encrypted with `keyPassword` (PKCS#8, AES-256). */
  encryptedServerKey: string;
  keyPassword: string;
}

const CURVE = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): Issued {
  openssl(dir, [
    'req', '-x509', ...CURVE, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', `/CN=${name}`, '-days', '2',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]); // prettier-ignore
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`), serial: '', subject: `CN=${name}` };
}

function issue(dir: string, ca: Issued, name: string, serial: number, extensions: string): Issued {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, ['req', ...CURVE, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${serial.toString(16)}`,
    '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.crt`,
  ]); // prettier-ignore
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`), serial: serial.toString(16).toUpperCase(), subject: `CN=${name}` };
}

export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'unicop-tls-'));
  const serverExt = 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n';
  const clientExt = 'extendedKeyUsage=clientAuth\n';
  const ca = makeCa(dir, 'unicop-test-ca');
  const stranger = makeCa(dir, 'unicop-stranger-ca');
  const server = issue(dir, ca, 'unicop-test-server-1', 0x1001, serverExt);
  const keyPassword = 'unicop-test-key-password';
  const encryptedServerKey = join(dir, 'unicop-test-server-1.encrypted.key');
  openssl(dir, ['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-in', server.key, '-out', encryptedServerKey, '-passout', `pass:${keyPassword}`]);
  return {
    dir,
    ca,
    server,
    nextServer: issue(dir, ca, 'unicop-test-server-2', 0x1002, serverExt),
    client: issue(dir, ca, 'unicop-test-client', 0x2001, clientExt),
    stranger,
    strangerClient: issue(dir, stranger, 'unicop-stranger-client', 0x3001, clientExt),
    encryptedServerKey,
    keyPassword,
  };
}
