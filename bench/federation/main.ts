/**
 * scripts/bench federation, the measuring part (./run starts brokers A and B and exports where they are).
 * Part 1 (routing.ts): µs per accepted event without a federation file, with 1 route and with 50.
 * Part 2 (isolation.ts): route A's latency while broker B is SIGSTOPped, then SIGKILLed and restarted.
 * Prints the tables; writes its block of docs/benchmarks.md (not with --no-write, nor --quick without --write).
 */
import { stopAll } from '../load/procs.js';
import { say } from '../load/stats.js';
import { writeBlock } from '../snapshot/report.js';
import { Broker } from './brokers.js';
import { measureIsolation } from './isolation.js';
import { isolationSummary, isolationTable, markdown, routingTable, type FederationBench } from './report.js';
import { measureRouting } from './routing.js';

const DOC = new URL('../../docs/benchmarks.md', import.meta.url).pathname;
const quick = process.argv.includes('--quick');

function setting(name: string, fallback: number, quickFallback = fallback): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? (quick ? quickFallback : fallback) : Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number of at least 1, got '${raw}'`);
  return value;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (scripts/bench federation sets it)`);
  return value;
}

async function main(): Promise<void> {
  const tmp = required('BENCH_TMP');
  const a = new Broker('A', Number(required('BENCH_KAFKA_A_PORT')), Number(required('BENCH_KAFKA_A_CONTROLLER_PORT')), required('BENCH_KAFKA_A_DIR'));
  const b = new Broker('B', Number(required('BENCH_KAFKA_B_PORT')), Number(required('BENCH_KAFKA_B_CONTROLLER_PORT')), required('BENCH_KAFKA_B_DIR'));
  const startedAt = new Date().toISOString();
  const routing = {
    brokers: a.brokers,
    tmp,
    events: setting('BENCH_EVENTS', 10_000, 2000),
    rounds: setting('BENCH_RUNS', 3, 1),
    concurrency: setting('BENCH_CONCURRENCY', 16),
    roots: setting('BENCH_ROOTS', 500),
    partitions: setting('BENCH_PARTITIONS', 3),
    manyRoutes: setting('BENCH_ROUTES', 50),
  };
  if (routing.manyRoutes < 2) throw new Error('BENCH_ROUTES must be at least 2 (regions and "*")');
  const variants = await measureRouting(routing);
  const isolation = await measureIsolation({
    a,
    b,
    tmp,
    port: Number(required('BENCH_PORT')),
    rate: setting('BENCH_RATE', 200),
    phaseS: setting('BENCH_PHASE_S', 20, 6),
    roots: routing.roots,
  });

  const result: FederationBench = {
    command: process.env.BENCH_COMMAND ?? 'scripts/bench federation',
    codeVersion: process.env.BENCH_CODE_VERSION ?? 'unknown',
    kafkaVersion: process.env.BENCH_KAFKA_VERSION ?? 'unknown',
    startedAt,
    routing,
    variants,
    isolation,
  };
  console.log('\nRouting cost per accepted event (same run, interleaved rounds)\n');
  console.log(routingTable(result).join('\n'));
  console.log('\nRoute A while route B is down\n');
  console.log(isolationTable(result).join('\n'));
  console.log(`\n${isolationSummary(result)}`);
  console.log(`\nraw: ${JSON.stringify({ variants, isolation })}`);
  // like `scripts/bench --quick`: a short run prints only, unless --write asks for the block
  if (!process.argv.includes('--no-write') && (!quick || process.argv.includes('--write'))) {
    writeBlock(DOC, markdown(result), 'federation');
    say(`wrote its block of ${DOC}`);
  }
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
