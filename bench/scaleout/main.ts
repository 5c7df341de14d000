/**
 * scripts/bench scaleout, the measuring part (./run builds the receiver, starts Kafka and PostgreSQL and
 * exports KAFKA_BROKERS and BENCH_ADMIN_DATABASE_URL). Part 1 (throughput.ts): accepted webhooks/s of
 * SQLite against 1, 2 and 3 receivers on PostgreSQL. Part 2 (takeover.ts): lane takeover after a
 * SIGKILL, per lease length. Prints the tables; writes its block of docs/benchmarks.md unless --no-write.
 */
import { Payloads } from '../load/payloads.js';
import { stopAll } from '../load/procs.js';
import { say } from '../load/stats.js';
import { writeBlock } from '../snapshot/report.js';
import { markdown, takeoverTable, throughputTable, type ScaleoutBench } from './report.js';
import { takeoverRun, type TakeoverRun } from './takeover.js';
import { measureThroughput, startVariants, stopVariants, throughputFigures } from './throughput.js';

const DOC = new URL('../../docs/benchmarks.md', import.meta.url).pathname;
/** The receiver's own default lease (config: UNICOP_LANE_LEASE_S); a run with it sets nothing. */
const DEFAULT_LEASE_S = 10;

function setting(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number of at least 1, got '${raw}'`);
  return value;
}

async function main(): Promise<void> {
  const brokers = process.env.KAFKA_BROKERS;
  const adminUrl = process.env.BENCH_ADMIN_DATABASE_URL;
  if (!brokers || !adminUrl) throw new Error('KAFKA_BROKERS and BENCH_ADMIN_DATABASE_URL must be set (scripts/bench scaleout sets them)');
  const settings = {
    brokers,
    adminUrl,
    durationS: setting('BENCH_DURATION', 10),
    rounds: setting('BENCH_RUNS', 3),
    connections: setting('BENCH_CONNECTIONS', 32),
    roots: setting('BENCH_ROOTS', 500),
  };
  const takeoverRuns = setting('BENCH_TAKEOVER_RUNS', 3);
  const takeoverRate = setting('BENCH_TAKEOVER_RATE', 40);
  const leases = (process.env.BENCH_LEASES || `${DEFAULT_LEASE_S},3`).split(',').map((x) => {
    const lease = Number(x);
    if (!Number.isInteger(lease) || lease < 1) throw new Error(`BENCH_LEASES must list whole seconds, got '${x}'`);
    return lease;
  });
  const startedAt = new Date().toISOString();

  const variants = await startVariants(settings);
  let throughput;
  try {
    throughput = throughputFigures(variants, await measureThroughput(settings, variants));
  } finally {
    await stopVariants(variants);
  }

  const payloads = new Payloads(settings.roots);
  const takeovers: TakeoverRun[] = [];
  for (const leaseS of leases) {
    for (let i = 0; i < takeoverRuns; i++) {
      say(`takeover ${i + 1}/${takeoverRuns}, lease ${leaseS} s`);
      takeovers.push(
        await takeoverRun({
          brokers,
          adminUrl,
          leaseS,
          setLease: leaseS !== DEFAULT_LEASE_S,
          rate: takeoverRate,
          roots: settings.roots,
          payloads,
          label: `takeover-${leaseS}s-${i + 1}`,
        }),
      );
    }
  }

  const result: ScaleoutBench = {
    command: process.env.BENCH_COMMAND ?? 'scripts/bench scaleout',
    codeVersion: process.env.BENCH_CODE_VERSION ?? 'unknown',
    kafkaVersion: process.env.BENCH_KAFKA_VERSION ?? 'unknown',
    pgVersion: process.env.BENCH_PG_VERSION ?? 'unknown',
    startedAt,
    ...settings,
    takeoverRate,
    throughput,
    takeovers,
  };
  console.log('\nAccepted webhooks/s (2 cores shared by everything: the cost of the shared store, not scaling)\n');
  console.log(throughputTable(result).join('\n'));
  console.log('\nLane takeover after SIGKILL\n');
  console.log(takeoverTable(result).join('\n'));
  console.log(`\nraw: ${JSON.stringify({ throughput, takeovers })}`);
  if (!process.argv.includes('--no-write')) {
    writeBlock(DOC, markdown(result), 'scaleout');
    say(`wrote its block of ${DOC}`);
  }
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
