import { loadConfig } from '../config.js';
import { isUnicopError, UnicopError } from '../errors.js';
import { RECEIVER_SCHEMA } from '../receiver-database.js';
import { importSqliteStore } from './sqlite-to-postgres.js';

/**
 * `node receiver/dist/store/migrate-main.js [<data dir>]`: copies a stopped receiver's SQLite store
 * (`<data dir>/unicop.sqlite`, default `UNICOP_DATA_DIR`) into the new PostgreSQL store named by
 * `UNICOP_DATABASE_URL` (or `_FILE`), for `UNICOP_TOPIC_PARTITIONS` lanes (docs/scale-out.md).
 * Prints the rows per table and, last, `IMPORTED <n> outbox rows, <m> events`; exits 1 with the
 * error's code otherwise.
 */
function run(): void {
  const args = process.argv.slice(2);
  if (args.length > 1 || args.some((a) => a.startsWith('-'))) {
    throw new UnicopError('UNICOP_CONFIG_INVALID', 'usage: migrate-main [<data dir>] (UNICOP_DATABASE_URL names the new PostgreSQL store)');
  }
  // Only the store's settings are read: the import verifies no webhook and talks to no broker, so
  // the receiver's secrets and other settings need not be in its environment (the flag stands in
  // for the webhook secrets loadConfig otherwise demands).
  const env: NodeJS.ProcessEnv = { UNICOP_INSECURE_NO_SIGNATURE: '1' };
  for (const name of ['UNICOP_DATA_DIR', 'UNICOP_DATABASE_URL', 'UNICOP_DATABASE_URL_FILE', 'UNICOP_TOPIC_PARTITIONS']) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  if (args[0] !== undefined) env.UNICOP_DATA_DIR = args[0];
  const config = loadConfig(env);
  if (!config.databaseUrl) {
    throw new UnicopError('UNICOP_CONFIG_INVALID', 'no target: set UNICOP_DATABASE_URL (or _FILE) to the new PostgreSQL store', {
      details: [{ pointer: 'UNICOP_DATABASE_URL', message: 'required by the import' }],
    });
  }
  const summary = importSqliteStore({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    lanes: config.topicPartitions,
    components: RECEIVER_SCHEMA,
  });
  const width = Math.max(...summary.tables.map((t) => t.table.length));
  for (const { table, rows } of summary.tables) console.log(`${table.padEnd(width)}  ${rows}`);
  console.log(`lanes: ${config.topicPartitions}, each at cursor ${summary.cursor}; ${summary.pending} outbox rows pending`);
  console.log(`IMPORTED ${summary.outboxRows} outbox rows, ${summary.events} events`);
}

try {
  run();
  process.exit(0);
} catch (error) {
  if (isUnicopError(error)) {
    console.error(`${error.code}: ${error.message}`);
    for (const d of error.details) console.error(`  ${d.pointer ?? ''}: ${d.message}`);
  } else {
    // PostgreSQL unreachable or refusing (store/postgres-db.ts PostgresError carries PG_<SQLSTATE>).
    const code = (error as { code?: unknown }).code;
    console.error(`${typeof code === 'string' ? `${code}: ` : ''}${(error as Error).message}`);
  }
  process.exit(1);
}
