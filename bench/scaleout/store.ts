/**
 * The benchmark's side of the shared store: who holds which relay lane (`relay_lanes`). Its databases,
 * one per variant and per takeover run, are made as the tests make theirs (receiver/test/helpers/store.ts;
 * the role `scripts/postgres up` makes may create databases).
 */
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

/** Lane → holder (`<hostname>:<PORT>:<pid>`, null when free) as the store has it now. */
export async function laneHolders(databaseUrl: string): Promise<Map<number, string | null>> {
  return withClient(databaseUrl, async (c) => {
    const { rows } = await c.query<{ lane: number; holder: string | null }>('SELECT lane, holder FROM relay_lanes ORDER BY lane');
    return new Map(rows.map((r) => [Number(r.lane), r.holder]));
  });
}
