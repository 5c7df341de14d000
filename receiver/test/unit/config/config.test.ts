import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, secretValues } from '../../../src/config.js';
import { UnicopError } from '../../../src/errors.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    assert.ok(error instanceof UnicopError);
    assert.equal(error.code, 'UNICOP_CONFIG_INVALID');
    return error.details.map((detail) => `${detail.pointer}: ${detail.message}`);
  }
}

describe('config', () => {
  it('fills the documented defaults and freezes the result', () => {
    const config = loadConfig({ UNICOP_WEBHOOK_SECRETS: 'a-secret-of-16-chars' });
    assert.equal(config.port, 8080);
    assert.equal(config.host, '127.0.0.1');
    assert.deepEqual(config.kafkaBrokers, ['127.0.0.1:9092']);
    assert.equal(config.topicPrefix, 'unicop');
    assert.equal(config.topicPartitions, 12);
    assert.equal(config.maxBodyBytes, 1048576);
    assert.equal(config.source, 'netbox://default');
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.kafkaBrokers));
    assert.throws(() => ((config as { port: number }).port = 1));
  });
  it('refuses to start without a webhook secret unless insecure mode is asked for', () => {
    assert.match(problems({}).join('\n'), /UNICOP_WEBHOOK_SECRETS: no webhook secret/);
    assert.equal(loadConfig({ UNICOP_INSECURE_NO_SIGNATURE: '1' }).insecureNoSignature, true);
  });
  it('reads secrets from <NAME>_FILE, split on commas', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'unicop-cfg-')), 'secrets');
    writeFileSync(file, 'one-secret-0123456,two-secret-0123456\n');
    assert.deepEqual(loadConfig({ UNICOP_WEBHOOK_SECRETS_FILE: file }).webhookSecrets, ['one-secret-0123456', 'two-secret-0123456']);
  });
  it('lists every problem at once, named by environment variable', () => {
    const found = problems({
      UNICOP_WEBHOOK_SECRETS: 'x',
      PORT: 'eighty',
      KAFKA_BROKERS: 'no-port',
      UNICOP_TOPIC_PARTITIONS: '0',
      UNICOP_OUTBOX_LIMTI: '5',
      UNICOP_SOURCE_FILE: '/etc/hosts',
      NETBOX_TOKEN_FILE: '/nonexistent/token',
    });
    const text = found.join('\n');
    for (const name of ['PORT', 'KAFKA_BROKERS', 'UNICOP_TOPIC_PARTITIONS', 'UNICOP_OUTBOX_LIMTI', 'UNICOP_SOURCE_FILE', 'NETBOX_TOKEN_FILE']) {
      assert.match(text, new RegExp(`^${name}:`, 'm'), `${name} missing from:\n${text}`);
    }
  });
  it('refuses a secret given both directly and as a file', () => {
    assert.match(problems({ UNICOP_WEBHOOK_SECRETS: 'a', UNICOP_WEBHOOK_SECRETS_FILE: '/etc/hosts' }).join(), /not both/);
  });
  it('refuses webhook secrets shorter than 16 characters or with whitespace around them, naming the item and never the value', () => {
    const short = problems({ UNICOP_WEBHOOK_SECRETS: 'long-enough-secret-1,short-secret' }).join('\n');
    assert.match(short, /^UNICOP_WEBHOOK_SECRETS: item 2: must NOT have fewer than 16 characters$/m);
    const spaced = problems({ UNICOP_WEBHOOK_SECRETS: 'long-enough-secret-1, long-enough-secret-2 ' }).join('\n');
    assert.match(spaced, /^UNICOP_WEBHOOK_SECRETS: item 2 has whitespace around it/m);
    const file = join(mkdtempSync(join(tmpdir(), 'unicop-cfg-')), 'secrets');
    writeFileSync(file, ' long-enough-secret-1\n');
    assert.match(problems({ UNICOP_WEBHOOK_SECRETS_FILE: file }).join('\n'), /^UNICOP_WEBHOOK_SECRETS: item 1 has whitespace around it/m);
    assert.ok(!`${short}${spaced}`.includes('short-secret') && !spaced.includes('long-enough'), 'no secret value in the messages');
  });
  it('lists every secret value it holds, for the logger to scrub', () => {
    const config = loadConfig({
      UNICOP_WEBHOOK_SECRETS: 'webhook-secret-0001,webhook-secret-0002',
      NETBOX_URL: 'http://127.0.0.1:1',
      NETBOX_TOKEN: 'netbox-token',
      UNICOP_API_TOKENS: 'api-token-000000001',
      UNICOP_AWX_NOTIFY_TOKEN: 'notify-token-000001',
      AWX_URL: 'http://127.0.0.1:2',
      AWX_TOKEN: 'awx-token',
    });
    assert.deepEqual(
      new Set(secretValues(config)),
      new Set(['webhook-secret-0001', 'webhook-secret-0002', 'netbox-token', 'api-token-000000001', 'notify-token-000001', 'awx-token']),
    );
  });
  it('refuses a retention shorter than the replay window: the event index is the webhook dedupe', () => {
    const base = { UNICOP_WEBHOOK_SECRETS: 'a-secret-of-16-chars' };
    assert.match(
      problems({ ...base, UNICOP_RETENTION_DAYS: '1', UNICOP_REPLAY_WINDOW_S: '172800' }).join('\n'),
      /^UNICOP_RETENTION_DAYS: must keep events at least as long as UNICOP_REPLAY_WINDOW_S/m,
    );
    assert.equal(loadConfig({ ...base, UNICOP_RETENTION_DAYS: '2', UNICOP_REPLAY_WINDOW_S: '172800' }).retentionDays, 2);
  });
  it('takes OIDC settings only together, with an IAM policy to bind their users, and fills the claim defaults', () => {
    const base = { UNICOP_WEBHOOK_SECRETS: 'a-secret-of-16-chars' };
    const text = (env: Record<string, string>) => problems({ ...base, ...env }).join('\n');
    assert.match(text({ UNICOP_OIDC_ISSUER: 'https://idp.example', UNICOP_IAM_POLICY: '/p.json' }), /^UNICOP_OIDC_AUDIENCE: OIDC needs both/m);
    assert.match(text({ UNICOP_OIDC_AUDIENCE: 'unicop', UNICOP_IAM_POLICY: '/p.json' }), /^UNICOP_OIDC_ISSUER: OIDC needs both/m);
    assert.match(text({ UNICOP_OIDC_ISSUER: 'https://idp.example', UNICOP_OIDC_AUDIENCE: 'unicop' }), /^UNICOP_IAM_POLICY: OIDC needs an IAM policy/m);
    assert.match(text({ UNICOP_OIDC_JWKS_URL: 'https://idp.example/jwks' }), /^UNICOP_OIDC_JWKS_URL: /m);
    assert.match(text({ UNICOP_OIDC_ISSUER: 'not a url', UNICOP_OIDC_AUDIENCE: 'unicop', UNICOP_IAM_POLICY: '/p.json' }), /^UNICOP_OIDC_ISSUER: /m);
    const config = loadConfig({ ...base, UNICOP_OIDC_ISSUER: 'https://idp.example', UNICOP_OIDC_AUDIENCE: 'unicop', UNICOP_IAM_POLICY: '/p.json' });
    assert.deepEqual([config.oidcGroupsClaim, config.oidcUsernameClaim, config.oidcJwksUrl], ['groups', 'preferred_username', undefined]);
  });
  it('takes the HTTPS certificate and key together, a client CA or key password only with them, every problem listed', () => {
    const base = { UNICOP_WEBHOOK_SECRETS: 'a-secret-of-16-chars' };
    const found = problems({ ...base, UNICOP_TLS_CERT_FILE: '/tls/server.crt', UNICOP_TLS_KEY_PASSWORD: 'key-password' });
    assert.deepEqual(found, [
      'UNICOP_TLS_KEY_FILE: HTTPS needs both UNICOP_TLS_CERT_FILE and UNICOP_TLS_KEY_FILE',
      'UNICOP_TLS_KEY_PASSWORD: UNICOP_TLS_KEY_PASSWORD needs UNICOP_TLS_KEY_FILE',
    ]);
    assert.match(problems({ ...base, UNICOP_TLS_KEY_FILE: '/tls/server.key' }).join('\n'), /^UNICOP_TLS_CERT_FILE: HTTPS needs both/m);
    assert.match(
      problems({ ...base, UNICOP_TLS_CLIENT_CA_FILE: '/tls/ca.crt' }).join('\n'),
      /^UNICOP_TLS_CLIENT_CA_FILE: client certificates are asked for over HTTPS only/m,
    );
    // The variables end in _FILE themselves: not mistaken for the file form of an unknown UNICOP_TLS_CERT.
    const dir = mkdtempSync(join(tmpdir(), 'unicop-cfg-'));
    writeFileSync(join(dir, 'password'), 'key-password\n');
    const config = loadConfig({
      ...base,
      UNICOP_TLS_CERT_FILE: '/tls/server.crt',
      UNICOP_TLS_KEY_FILE: '/tls/server.key',
      UNICOP_TLS_CLIENT_CA_FILE: '/tls/ca.crt',
      UNICOP_TLS_KEY_PASSWORD_FILE: join(dir, 'password'),
    });
    assert.deepEqual(
      [config.tlsCertFile, config.tlsKeyFile, config.tlsClientCaFile, config.tlsKeyPassword],
      ['/tls/server.crt', '/tls/server.key', '/tls/ca.crt', 'key-password'],
    );
    assert.ok(secretValues(config).includes('key-password'), 'the key password is scrubbed from logs');
  });
});
