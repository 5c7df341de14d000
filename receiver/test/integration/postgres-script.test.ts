import { strict as assert } from 'node:assert';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { databaseUrlOf, postgresScript, privatePostgres, type PrivatePostgres } from '../helpers/postgres.js';

/** One query on a fresh connection to `url`; the connection is closed whatever happens. */
async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('local PostgreSQL (scripts/postgres)', function () {
  this.timeout(120_000);
  let cluster: PrivatePostgres;
  let url: string;

  before(async () => {
    cluster = await privatePostgres();
  });
  after(async () => {
    await cluster?.remove();
  });

  it('starts PostgreSQL and prints only UNICOP_DATABASE_URL on stdout, for the unicop role and database', async () => {
    const up = await cluster.script('up');
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.stdout.trimEnd().split('\n').length, 1, `progress belongs on stderr: ${up.stdout}`);
    url = databaseUrlOf(up.stdout);
    assert.match(url, new RegExp(`^postgres://unicop:[A-Za-z0-9]{32}@127\\.0\\.0\\.1:${cluster.env.PGPORT}/unicop$`));
  });

  it('is idempotent: a second up leaves the same server running and prints the same URL', async () => {
    const before = await cluster.script('status');
    const again = await cluster.script('up');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(databaseUrlOf(again.stdout), url);
    const after = await cluster.script('status');
    assert.equal(after.stdout, before.stdout);
  });

  it('answers SELECT 1 through the printed URL, as unicop on the database unicop', async () => {
    const [row] = await query<{ one: number; who: string; db: string }>(url, 'SELECT 1 AS one, current_user AS who, current_database() AS db');
    assert.deepEqual(row, { one: 1, who: 'unicop', db: 'unicop' });
  });

  it('runs a durable, loopback-only cluster with room for several receivers', async () => {
    const settings = await query<{ name: string; setting: string }>(
      url,
      "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'listen_addresses', 'max_connections', 'port') ORDER BY name",
    );
    assert.deepEqual(settings, [
      { name: 'fsync', setting: 'on' },
      { name: 'listen_addresses', setting: '127.0.0.1' },
      { name: 'max_connections', setting: '100' },
      { name: 'port', setting: cluster.env.PGPORT },
    ]);
  });

  it('keeps the generated password in the data dir, mode 600, and refuses another password', async () => {
    const file = join(cluster.env.PG_DATA_DIR, 'password');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const password = readFileSync(file, 'utf8').trim();
    assert.equal(new URL(url).password, password);
    const wrong = new URL(url);
    wrong.password = `${password}x`;
    await assert.rejects(query(wrong.href, 'SELECT 1'), { code: '28P01' }); // invalid_password
  });

  it('reports running with pid and port (exit 0), never the password; url prints the same line as up', async () => {
    const status = await cluster.script('status');
    assert.equal(status.code, 0, status.stdout + status.stderr);
    assert.match(status.stdout, new RegExp(`^running pid=\\d+ port=${cluster.env.PGPORT} `));
    assert.ok(!status.stdout.includes(new URL(url).password), 'status printed the password');
    const printed = await cluster.script('url');
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(printed.stdout, `UNICOP_DATABASE_URL=${url}\n`);
  });

  it('stops on down (status exit 3, connections refused) and keeps the data for the next up', async () => {
    await query(url, 'CREATE TABLE kept (value text); INSERT INTO kept VALUES ($$written before down$$)');
    const down = await cluster.script('down');
    assert.equal(down.code, 0, down.stderr);
    const status = await cluster.script('status');
    assert.equal(status.code, 3, status.stdout);
    assert.match(status.stdout, /^stopped/);
    await assert.rejects(query(url, 'SELECT 1'), { code: 'ECONNREFUSED' });

    const up = await cluster.script('up');
    assert.equal(up.code, 0, up.stderr);
    assert.equal(databaseUrlOf(up.stdout), url);
    assert.deepEqual(await query(url, 'SELECT value FROM kept'), [{ value: 'written before down' }]);
  });

  it('refuses a PGPORT that is not a port number, and an unknown command', async () => {
    const bad = await postgresScript('up', { ...cluster.env, PGPORT: '0x10' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /PGPORT must be a port number \(1-65535\), got '0x10'/);
    const unknown = await cluster.script('restart');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /usage: scripts\/postgres up\|down\|status\|url/);
  });
});
