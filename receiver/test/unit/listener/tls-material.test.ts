import { strict as assert } from 'node:assert';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UnicopError } from '../../../src/errors.js';
import { readTlsMaterial, type TlsFiles } from '../../../src/listener/tls-material.js';
import { makeTestCertificates, type TestCertificates } from '../../helpers/certificates.js';

describe('readTlsMaterial', () => {
  let certs: TestCertificates;
  before(() => (certs = makeTestCertificates()));
  after(() => rmSync(certs.dir, { recursive: true, force: true }));

  const files = (over: Partial<TlsFiles> = {}): TlsFiles => ({
    certFile: certs.server.cert,
    keyFile: certs.server.key,
    clientCaFile: null,
    keyPassword: null,
    ...over,
  });

  /** The error, checked to carry no line of any key file (PEM body or header). */
  function refused(input: TlsFiles): UnicopError {
    try {
      readTlsMaterial(input);
    } catch (error) {
      assert.ok(error instanceof UnicopError, String(error));
      const text = JSON.stringify({ message: error.message, details: error.details });
      assert.doesNotMatch(text, /PRIVATE KEY/);
      for (const key of [certs.server.key, certs.nextServer.key, certs.encryptedServerKey]) {
        for (const line of readFileSync(key, 'utf8')
          .split('\n')
          .filter((l) => l.length > 20))
          assert.ok(!text.includes(line), 'key material in the error');
      }
      return error;
    }
    assert.fail('accepted');
  }

  it('describes the certificate it accepts: subject, issuer, serial and expiry', () => {
    const { certificate, context } = readTlsMaterial(files({ clientCaFile: certs.ca.cert }));
    assert.equal(certificate.subject, certs.server.subject);
    assert.equal(certificate.issuer, certs.ca.subject);
    assert.equal(certificate.serial, certs.server.serial);
    // -days 2 from now, give or take the seconds the test took
    assert.ok(Math.abs(certificate.notAfter.getTime() - Date.now() - 2 * 86_400_000) < 3_600_000, certificate.notAfter.toISOString());
    assert.ok(context.ca, 'client CA passed to the secure context');
  });

  it('names every unreadable file with its variable', () => {
    const error = refused(files({ certFile: '/nonexistent/server.crt', clientCaFile: '/nonexistent/ca.crt' }));
    assert.equal(error.code, 'UNICOP_TLS_FILE_UNREADABLE');
    assert.deepEqual(
      error.details.map((d) => d.pointer),
      ['UNICOP_TLS_CERT_FILE', 'UNICOP_TLS_CLIENT_CA_FILE'],
    );
    assert.match(error.message, /\/nonexistent\/server\.crt: ENOENT/);
    assert.match(error.message, /\/nonexistent\/ca\.crt: ENOENT/);
  });

  it('refuses a key that is not the certificate’s, naming both files', () => {
    const error = refused(files({ keyFile: certs.nextServer.key }));
    assert.equal(error.code, 'UNICOP_TLS_KEY_MISMATCH');
    assert.ok(error.message.includes(certs.nextServer.key) && error.message.includes(certs.server.cert), error.message);
  });

  it('refuses a certificate file that holds no certificate, and a key file that holds no key', () => {
    const garbage = join(certs.dir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    assert.equal(refused(files({ certFile: garbage })).code, 'UNICOP_TLS_CERT_INVALID');
    assert.equal(refused(files({ clientCaFile: garbage })).details[0]?.pointer, 'UNICOP_TLS_CLIENT_CA_FILE');
    // the certificate where the key belongs
    const error = refused(files({ keyFile: certs.server.cert }));
    assert.equal(error.code, 'UNICOP_TLS_KEY_INVALID');
    assert.ok(error.message.includes(certs.server.cert), error.message);
  });

  it('reads an encrypted key with its password and refuses it without or with a wrong one', () => {
    const encrypted = files({ keyFile: certs.encryptedServerKey });
    assert.equal(readTlsMaterial({ ...encrypted, keyPassword: certs.keyPassword }).certificate.serial, certs.server.serial);
    assert.match(refused(encrypted).message, /needs UNICOP_TLS_KEY_PASSWORD/);
    const wrong = refused({ ...encrypted, keyPassword: 'not-the-password' });
    assert.equal(wrong.code, 'UNICOP_TLS_KEY_INVALID');
    assert.ok(!wrong.message.includes('not-the-password'));
  });
});
