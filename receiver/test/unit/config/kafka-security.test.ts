import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, secretValues } from '../../../src/config.js';
import { UnicopError } from '../../../src/errors.js';
import { kafkaSecurity } from '../../../src/pipeline/publish/kafka-security.js';

const BASE = { UNICOP_WEBHOOK_SECRETS: 'a-webhook-secret-0123456789' };
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...BASE, ...env });
    return [];
  } catch (error) {
    assert.ok(error instanceof UnicopError);
    assert.equal(error.code, 'UNICOP_CONFIG_INVALID');
    return error.details.map((detail) => `${detail.pointer}: ${detail.message}`);
  }
}

/** A directory with a CA, a client certificate and its key as PEM files. */
function pemFiles(): { ca: string; cert: string; key: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'unicop-kafka-tls-'));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  return {
    ca: file('ca.pem', PEM),
    cert: file('client.crt', PEM),
    key: file('client.key', '-----BEGIN PRIVATE KEY-----\nSECRETKEYBODY\n-----END PRIVATE KEY-----\n'),
    dir,
  };
}

describe('config: Kafka TLS and SASL', () => {
  it('speaks PLAINTEXT, with neither TLS nor SASL, when nothing is set', () => {
    const config = loadConfig(BASE);
    assert.equal(config.kafkaSecurityProtocol, 'PLAINTEXT');
    assert.deepEqual(kafkaSecurity(config), {});
  });

  it('lists every SASL setting a SASL protocol lacks, and refuses an unknown protocol or mechanism', () => {
    assert.deepEqual(problems({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' }), [
      'KAFKA_SASL_MECHANISM: KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_MECHANISM',
      'KAFKA_SASL_USERNAME: KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_USERNAME',
      'KAFKA_SASL_PASSWORD: KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_PASSWORD (or _FILE)',
    ]);
    const wrong = problems({ KAFKA_SECURITY_PROTOCOL: 'TLS', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-1' });
    assert.equal(wrong.length, 2, wrong.join('\n'));
    assert.match(wrong.join('\n'), /KAFKA_SECURITY_PROTOCOL: must be equal to one of the allowed values/);
    assert.match(wrong.join('\n'), /KAFKA_SASL_MECHANISM: must be equal to one of the allowed values/);
  });

  it('refuses settings the protocol would ignore: SASL without a SASL protocol, TLS files without TLS', () => {
    const files = pemFiles();
    assert.deepEqual(problems({ KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p', KAFKA_SSL_CA_FILE: files.ca }), [
      'KAFKA_SASL_MECHANISM: KAFKA_SECURITY_PROTOCOL=PLAINTEXT uses no SASL: set SASL_PLAINTEXT or SASL_SSL, or remove KAFKA_SASL_MECHANISM',
      'KAFKA_SASL_USERNAME: KAFKA_SECURITY_PROTOCOL=PLAINTEXT uses no SASL: set SASL_PLAINTEXT or SASL_SSL, or remove KAFKA_SASL_USERNAME',
      'KAFKA_SASL_PASSWORD: KAFKA_SECURITY_PROTOCOL=PLAINTEXT uses no SASL: set SASL_PLAINTEXT or SASL_SSL, or remove KAFKA_SASL_PASSWORD',
      'KAFKA_SSL_CA_FILE: KAFKA_SECURITY_PROTOCOL=PLAINTEXT uses no TLS: set SSL or SASL_SSL, or remove KAFKA_SSL_CA_FILE',
    ]);
  });

  it('wants a client certificate and its key together, and a key password only with a key', () => {
    const files = pemFiles();
    assert.deepEqual(problems({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CERT_FILE: files.cert }), [
      'KAFKA_SSL_KEY_FILE: a client certificate needs both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE',
    ]);
    assert.deepEqual(problems({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_KEY_PASSWORD: 'pass' }), [
      'KAFKA_SSL_KEY_PASSWORD: KAFKA_SSL_KEY_PASSWORD needs KAFKA_SSL_KEY_FILE',
    ]);
  });

  it('names a certificate file it cannot read or that holds no PEM, never quoting the content', () => {
    const files = pemFiles();
    const notPem = join(files.dir, 'not-pem');
    writeFileSync(notPem, 'TOPSECRETCONTENT');
    const missing = join(files.dir, 'missing.pem');
    const found = problems({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_FILE: missing, KAFKA_SSL_CERT_FILE: notPem, KAFKA_SSL_KEY_FILE: files.key });
    assert.deepEqual(found, [`KAFKA_SSL_CA_FILE: cannot read ${missing}: ENOENT`, `KAFKA_SSL_CERT_FILE: ${notPem} holds no PEM block (-----BEGIN …)`]);
    assert.doesNotMatch(found.join('\n'), /TOPSECRETCONTENT/);
  });

  it('builds SASL_SSL with SCRAM and mutual TLS from files, the passwords from _FILE and scrubbed from logs', () => {
    const files = pemFiles();
    const passwordFile = join(files.dir, 'password');
    writeFileSync(passwordFile, 'sasl-password-0123\n');
    const config = loadConfig({
      ...BASE,
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'unicop',
      KAFKA_SASL_PASSWORD_FILE: passwordFile,
      KAFKA_SSL_CA_FILE: files.ca,
      KAFKA_SSL_CERT_FILE: files.cert,
      KAFKA_SSL_KEY_FILE: files.key,
      KAFKA_SSL_KEY_PASSWORD: 'key-passphrase-0123',
    });
    assert.deepEqual(kafkaSecurity(config), {
      ssl: { ca: [PEM], cert: PEM, key: '-----BEGIN PRIVATE KEY-----\nSECRETKEYBODY\n-----END PRIVATE KEY-----\n', passphrase: 'key-passphrase-0123' },
      sasl: { mechanism: 'scram-sha-512', username: 'unicop', password: 'sasl-password-0123' },
    });
    const secrets = secretValues(config);
    assert.ok(secrets.includes('sasl-password-0123') && secrets.includes('key-passphrase-0123'));
    assert.ok(!secrets.includes('unicop'), 'a user name is no secret: scrubbing it would blank every line naming the project');
  });

  it('uses TLS with the public CAs when SSL has no CA file, and SASL without TLS for SASL_PLAINTEXT', () => {
    assert.deepEqual(kafkaSecurity(loadConfig({ ...BASE, KAFKA_SECURITY_PROTOCOL: 'SSL' })), { ssl: true });
    const plain = loadConfig({
      ...BASE,
      KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
      KAFKA_SASL_MECHANISM: 'PLAIN',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: 'p',
    });
    assert.deepEqual(kafkaSecurity(plain), { sasl: { mechanism: 'plain', username: 'u', password: 'p' } });
  });
});
