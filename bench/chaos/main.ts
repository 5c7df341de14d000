/**
 * `scripts/chaos burst|faults [options]` — run by scripts/chaos, which starts the private broker and
 * sets KAFKA_BROKERS, KAFKA_DATA_DIR and CHAOS_TMP. Prints the table, writes its block of
 * docs/chaos.md (unless --no-doc) and exits 1 when a target is missed.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runBurst } from './burst.js';
import { REPO } from './procs.js';
import { burstPassed, burstTable, faultsTable, scenarioPassed, writeBlock } from './report.js';
import { runScenario, SCENARIOS, type ScenarioReport } from './scenarios.js';

const USAGE = `usage: scripts/chaos burst  [--events 100000] [--roots 5000] [--concurrency 64] [--no-doc]
       scripts/chaos faults [--events 10000] [--roots 500] [--concurrency 64] [--rate 250] [--fault-at 0.3]
                            [--outbox-limit 2000] [--hold-ms 5000] [--kill-every-ms 2000]
                            [--scenarios kafka-kill,receiver-kill,kafka-stop] [--no-doc]
       scripts/chaos exactly-once [--events 20000] [--roots 500] [--concurrency 64] [--rate 250] [--kill-every-ms 2000] [--no-doc]`;

function int(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer ≥ ${min}, got '${value}'`);
  return v;
}

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    options: {
      events: { type: 'string' },
      roots: { type: 'string' },
      concurrency: { type: 'string' },
      rate: { type: 'string' },
      'fault-at': { type: 'string' },
      'outbox-limit': { type: 'string' },
      'hold-ms': { type: 'string' },
      'kill-every-ms': { type: 'string' },
      scenarios: { type: 'string' },
      'no-doc': { type: 'boolean' },
    },
  });
  const brokers = process.env.KAFKA_BROKERS;
  if (!brokers) throw new Error('KAFKA_BROKERS is not set (run through scripts/chaos)');
  const doc = join(REPO, 'docs/chaos.md');
  const shown = `scripts/chaos ${process.argv.slice(2).join(' ')}`;

  if (command === 'burst') {
    const report = await runBurst({
      brokers,
      events: int('events', values.events, 100_000),
      roots: int('roots', values.roots, 5_000),
      concurrency: int('concurrency', values.concurrency, 64),
    });
    const table = burstTable(report, shown);
    process.stdout.write(`\n${table}\n`);
    if (!values['no-doc']) writeBlock(doc, 'burst', '### Burst', table);
    return burstPassed(report) ? 0 : 1;
  }

  if (command === 'faults') {
    const faultAt = values['fault-at'] === undefined ? 0.3 : Number(values['fault-at']);
    if (!(faultAt > 0 && faultAt < 1)) throw new Error('--fault-at must be between 0 and 1');
    const options = {
      brokers,
      events: int('events', values.events, 10_000),
      roots: int('roots', values.roots, 500),
      concurrency: int('concurrency', values.concurrency, 64),
      rate: int('rate', values.rate, 250),
      faultAt,
      outboxLimit: int('outbox-limit', values['outbox-limit'], 2_000),
      holdMs: int('hold-ms', values['hold-ms'], 5_000, 0),
      killEveryMs: int('kill-every-ms', values['kill-every-ms'], 2_000),
    };
    const chosen = (values.scenarios?.split(',') ?? [...SCENARIOS]) as (typeof SCENARIOS)[number][];
    for (const s of chosen) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario '${s}' (${SCENARIOS.join(', ')})`);
    const reports: ScenarioReport[] = [];
    for (const s of chosen) reports.push(await runScenario(s, options));
    const settings = `${options.events.toLocaleString('en-US')} events per scenario over ${options.roots} roots (NetBox 4.7 interface updates, ~6 KB, signed), started at ${options.rate}/s with at most ${options.concurrency} in flight; the fault starts when ${Math.round(faultAt * 100)} % are stored; each scenario has a fresh receiver process (\`node --import tsx receiver/src/main.ts\`), data dir and topic prefix (12 partitions); one private broker for all of them.`;
    const table = faultsTable(reports, shown, settings);
    process.stdout.write(`\n${table}\n`);
    if (!values['no-doc']) writeBlock(doc, 'faults', '### Faults', table);
    return reports.every(scenarioPassed) ? 0 : 1;
  }

  if (command === 'exactly-once') {
    const options = {
      brokers,
      events: int('events', values.events, 20_000),
      roots: int('roots', values.roots, 500),
      concurrency: int('concurrency', values.concurrency, 64),
      rate: int('rate', values.rate, 250),
      faultAt: 0.05,
      outboxLimit: 0,
      holdMs: 0,
      killEveryMs: int('kill-every-ms', values['kill-every-ms'], 2_000),
    };
    const report = await runScenario('receiver-kill-loop', options);
    const settings = `${options.events.toLocaleString('en-US')} events over ${options.roots} roots (NetBox 4.7 interface updates, ~6 KB, signed), started at ${options.rate}/s with at most ${options.concurrency} in flight; from 5 % stored on, the receiver (\`node --import tsx receiver/src/main.ts\`, SQLite, 12 partitions, one transactional lane) is SIGKILLed ${options.killEveryMs / 1000} s after each (re)start until every event is stored; the checker reads read_committed.`;
    const table = faultsTable([report], shown, settings);
    process.stdout.write(`\n${table}\n`);
    if (!values['no-doc']) writeBlock(doc, 'exactly-once', '### Exactly-once: SIGKILL every 2 s', table);
    return scenarioPassed(report) ? 0 : 1;
  }

  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`chaos: error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
