/** Requests from `PostgresDb` to its worker thread, and the answers. */
export type PgRequest = { id: number; op: 'query'; sql: string; params: unknown[] } | { id: number; op: 'exec'; sql: string };

export type PgResponse =
  { id: number; ok: true; rows: Record<string, unknown>[]; changes: number } | { id: number; ok: false; message: string; code: string | null };
