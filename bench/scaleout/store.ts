/**
 * The benchmark's side of the shared store: a new database per variant and per takeover run (the role
 * `scripts/postgres up` makes may create databases), and who holds which relay lane (`relay_lanes`).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** `CREATE DATABASE` through the admin URL; the new database's URL. */
export async function createDatabase(adminUrl: string, label: string): Promise<string> {
  const name = `bench_${label}_${randomUUID().slice(0, 8)}`;
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Lane → holder (`<hostname>:<PORT>:<pid>`, null when free) as the store has it now. */
export async function laneHolders(databaseUrl: string): Promise<Map<number, string | null>> {
  return withClient(databaseUrl, async (c) => {
    const { rows } = await c.query<{ lane: number; holder: string | null }>('SELECT lane, holder FROM relay_lanes ORDER BY lane');
    return new Map(rows.map((r) => [Number(r.lane), r.holder]));
  });
}
