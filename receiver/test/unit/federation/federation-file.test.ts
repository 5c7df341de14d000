import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadConfig } from '../../../src/config.js';
import { UnicopError, type ErrorDetail } from '../../../src/errors.js';
import { loadFederation } from '../../../src/federation/federation.js';
import { SchemaRegistry } from '../../../src/schema-registry.js';
import { federationFile } from '../../helpers/federation.js';

const registry = new SchemaRegistry();
const SOURCES = [
  { name: 'nb-eu', secrets: ['eu-webhook-secret-0001'] },
  { name: 'nb-us', secrets: ['us-webhook-secret-0001', 'us-webhook-secret-0002'], netbox: { url: 'http://127.0.0.1:8001', token: 'us-token' } },
];
const ROUTE_A = { scope: { regions: ['emea'] }, brokers: '127.0.0.1:9092', topicPrefix: 'unicop', name: 'emea' };
const ROUTE_B = { scope: '*', brokers: '127.0.0.1:9093', topicPrefix: 'unicop', name: 'rest' };
const EXAMPLE = {
  cell: 'eu',
  sources: SOURCES,
  owners: [
    { scope: { regions: ['emea'] }, cell: 'eu' },
    { scope: '*', cell: 'us' },
  ],
  routes: [ROUTE_A, ROUTE_B],
};

function load(path: string) {
  return loadFederation(loadConfig({ UNICOP_FEDERATION: path }), registry);
}

function problemsOf(file: Parameters<typeof federationFile>[0]): ErrorDetail[] {
  try {
    load(federationFile(file));
    return [];
  } catch (error) {
    assert.ok(error instanceof UnicopError, String(error));
    assert.equal(error.code, 'UNICOP_FEDERATION_INVALID');
    return [...error.details];
  }
}

const scope = (region: string | null, more: { tenant?: string; site?: string; regions?: string[] } = {}) => ({
  tenant: more.tenant ?? null,
  site: more.site ?? null,
  region,
  regions: more.regions ?? (region ? [region] : []),
});

describe('federation file (UNICOP_FEDERATION)', () => {
  it("reads the contract's shape: sources with their secrets and NetBox, first-match owners and routes", () => {
    const f = load(federationFile(EXAMPLE));
    assert.equal(f.configured, true);
    assert.equal(f.cell, 'eu');
    assert.deepEqual(
      f.sources.map((s) => [s.name, s.source, s.secrets, s.netbox, s.keyPrefix]),
      [
        ['nb-eu', 'netbox://nb-eu', ['eu-webhook-secret-0001'], null, 'nb-eu/'],
        ['nb-us', 'netbox://nb-us', ['us-webhook-secret-0001', 'us-webhook-secret-0002'], { url: 'http://127.0.0.1:8001', token: 'us-token' }, 'nb-us/'],
      ],
    );
    assert.deepEqual(
      f.routes.map((r) => [r.name, r.brokers]),
      [
        ['emea', ['127.0.0.1:9092']],
        ['rest', ['127.0.0.1:9093']],
      ],
    );
    // a region covers its descendants through the ancestry the event carries
    assert.equal(f.routeOf(scope('de-fra', { regions: ['de-fra', 'de', 'emea'] })).name, 'emea');
    assert.equal(f.ownerOf(scope('de-fra', { regions: ['de-fra', 'de', 'emea'] })), 'eu');
    assert.equal(f.routeOf(scope('us-east')).name, 'rest');
    assert.equal(f.ownerOf(scope('us-east')), 'us');
    // an event naming no scope matches "*" alone; so does null (nothing recorded)
    assert.equal(f.routeOf(scope(null)).name, 'rest');
    assert.equal(f.ownerOf(null), 'us');
    assert.equal(f.home.name, 'rest');
    assert.deepEqual([...f.secrets].sort(), ['eu-webhook-secret-0001', 'us-token', 'us-webhook-secret-0001', 'us-webhook-secret-0002']);
  });

  it('keeps keys unprefixed with one source, and names a route by its destination when the file does not', () => {
    const f = load(
      federationFile({
        ...EXAMPLE,
        sources: [SOURCES[0]!],
        routes: [
          { scope: { sites: ['ams1'] }, brokers: '127.0.0.1:9092', topicPrefix: 'unicop' },
          { scope: { tenants: ['acme'] }, brokers: '127.0.0.1:9092', topicPrefix: 'unicop' },
          { scope: '*', brokers: '127.0.0.1:9093,127.0.0.1:9094', topicPrefix: 'edge' },
        ],
      }),
    );
    assert.equal(f.sources[0]!.keyPrefix, '');
    // two entries with one destination are one route (one set of lanes: one order per root)
    assert.deepEqual(
      f.routes.map((r) => r.name),
      ['unicop@127.0.0.1:9092', 'edge@127.0.0.1:9093,127.0.0.1:9094'],
    );
    assert.equal(f.routeOf(scope(null, { tenant: 'acme' })).name, 'unicop@127.0.0.1:9092');
  });

  it('lists every problem at once: no "*" at the end, entries after it, a slug listed twice, shared secrets, duplicate names, two names for one destination, unreadable files', () => {
    const problems = problemsOf({
      cell: 'eu',
      sources: [SOURCES[0]!, { name: 'nb-eu', secrets: ['eu-webhook-secret-0001'] }],
      owners: [
        { scope: { regions: ['emea', 'amer'] }, cell: 'eu' },
        { scope: { regions: ['amer'] }, cell: 'us' },
      ],
      routes: [
        ROUTE_A,
        { ...ROUTE_A, scope: { sites: ['x'] }, name: 'other' },
        ROUTE_B,
        { scope: { tenants: ['t'] }, brokers: '127.0.0.1:1', topicPrefix: 'p' },
      ],
    });
    const messages = problems.map((p) => `${p.pointer}: ${p.message}`);
    const expect = (pattern: RegExp) =>
      assert.ok(
        messages.some((m) => pattern.test(m)),
        `${pattern} in\n${messages.join('\n')}`,
      );
    expect(/^\/owners: the list must end with a "\*" entry/);
    expect(/^\/owners\/1\/scope\/regions: region "amer" is already listed by \/owners\/0/);
    expect(/^\/routes\/3: entry after the "\*" entry \/routes\/2/);
    expect(/^\/routes\/1\/name: brokers and prefix are route "emea"'s/);
    expect(/^\/sources\/1\/name: duplicate source name "nb-eu"/);
    assert.equal(problems.length, 5, messages.join('\n'));

    const secrets = problemsOf({ ...EXAMPLE, sources: [SOURCES[0]!, { name: 'nb-us', secrets: ['eu-webhook-secret-0001'] }] });
    assert.deepEqual(
      secrets.map((p) => p.message),
      ['a secret of source "nb-us" is also one of "nb-eu"'],
    );
    // no secret value in any message
    assert.ok(!JSON.stringify(secrets).includes('eu-webhook-secret-0001'), 'secret values stay out of problems');

    const unreadable = federationFile(EXAMPLE);
    writeFileSync(join(dirname(unreadable), 'nb-eu.secrets'), ' spaced-but-long-enough \nshort\n');
    writeFileSync(
      unreadable,
      JSON.stringify({
        ...JSON.parse(readFileSync(unreadable, 'utf8')),
        sources: [{ name: 'nb-eu', secretsFile: 'nb-eu.secrets', netbox: { url: 'http://x', tokenFile: 'missing.token' } }],
      }),
    );
    const read = (() => {
      try {
        load(unreadable);
        return [];
      } catch (error) {
        return [...(error as UnicopError).details];
      }
    })();
    assert.deepEqual(
      read.map((p) => `${p.pointer}: ${p.message}`),
      [
        '/sources/0/secretsFile: secret 1 has whitespace around it',
        '/sources/0/secretsFile: secret 2 is shorter than 16 characters',
        '/sources/0/secretsFile: the file holds no secret',
        '/sources/0/netbox/tokenFile: cannot read missing.token: ENOENT',
      ],
    );
  });

  it('refuses a file that does not match its schema, naming where', () => {
    const problems = problemsOf({ ...EXAMPLE, cell: 'EU!', routes: [{ scope: '*', brokers: 'nohost', topicPrefix: 'unicop' }] });
    assert.ok(
      problems.some((p) => p.pointer === '/cell'),
      JSON.stringify(problems),
    );
    assert.ok(
      problems.some((p) => p.pointer === '/routes/0/brokers'),
      JSON.stringify(problems),
    );
  });

  it('refuses sources, secrets and NetBox settings beside the file (one truth), listing each', () => {
    const path = federationFile(EXAMPLE);
    assert.throws(
      () =>
        loadConfig({ UNICOP_FEDERATION: path, UNICOP_WEBHOOK_SECRETS: 's', UNICOP_SOURCE: 'netbox://x', NETBOX_URL: 'http://x', NETBOX_TOKEN_FILE: '/tmp/t' }),
      (error: UnicopError) =>
        error.code === 'UNICOP_CONFIG_INVALID' &&
        ['UNICOP_WEBHOOK_SECRETS', 'UNICOP_SOURCE', 'NETBOX_URL', 'NETBOX_TOKEN_FILE'].every((name) =>
          error.details.some((d) => d.pointer === name && /UNICOP_FEDERATION is set/.test(d.message)),
        ),
    );
    // without secrets beside it the configuration is complete: the file has them
    assert.equal(loadConfig({ UNICOP_FEDERATION: path }).federationFile, path);
  });

  it('is the single-source, single-route equivalent without a file', () => {
    const f = loadFederation(loadConfig({ UNICOP_WEBHOOK_SECRETS: 'a-webhook-secret-of-some-length', KAFKA_BROKERS: '127.0.0.1:19999' }), registry);
    assert.equal(f.configured, false);
    assert.deepEqual(
      f.sources.map((s) => [s.name, s.source, s.keyPrefix]),
      [['default', 'netbox://default', '']],
    );
    assert.deepEqual(
      f.routes.map((r) => [r.name, r.brokers, r.topicPrefix]),
      [['default', ['127.0.0.1:19999'], 'unicop']],
    );
    assert.equal(f.ownerOf(scope('emea')), f.cell);
  });
});
