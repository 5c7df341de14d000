/**
 * `scripts/bench snapshot [--objects N] [--no-write]`: N interfaces made in a real NetBox with bulk
 * REST calls, a receiver whose spine is empty, one snapshot that repairs them all and a second that
 * repairs nothing, each with the snapshot's own duration, NetBox requests, objects read, repairs and
 * objects/s; then the objects are deleted again. Prints the table and writes its block of
 * docs/benchmarks.md. Asserts nothing; exits 1 when a step fails (the objects are removed anyway).
 */
import { netbox } from '../../receiver/test/helpers/netbox.js';
import { makeObjects, removeObjects, settled, type Made } from './objects.js';
import { outboxDrained, runSnapshot, startReceiver, stopReceiver, type BenchReceiver } from './receiver.js';
import { markdown, summary, table, writeBlock, type SnapshotBench } from './report.js';

const MINUTES = 60_000;
const DOC = 'docs/benchmarks.md';

function options(argv: string[]): { objects: number; write: boolean } {
  let objects = 10_000;
  let write = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--no-write') write = false;
    else if (arg === '--objects' && /^[1-9]\d{0,6}$/.test(argv[i + 1] ?? '')) objects = Number(argv[++i]);
    else throw new Error(`scripts/bench snapshot: bad argument '${arg}' (--objects <1..9999999>, --no-write)`);
  }
  return { objects, write };
}

const say = (line: string): void => void process.stderr.write(`bench snapshot: ${line}\n`);
const removing = (left: number): void => {
  if (left % 2500 === 0) say(`${left} interfaces left to remove`);
};

async function main(): Promise<void> {
  const { objects, write } = options(process.argv.slice(2));
  const startedAt = new Date().toISOString();
  const made: Made = { tag: Math.random().toString(16).slice(2, 10), parents: [], devices: [], interfaces: [] };
  let receiver: BenchReceiver | null = null;
  let interrupted = false;
  // One removal, whoever asks first (the end of the run, a failure, a signal); the others wait for it.
  let removal: Promise<void> | null = null;
  const remove = (): Promise<void> => (removal ??= removeObjects(made, removing));
  // A signal while objects are made stops at the next bulk request; later, it removes them at once
  // (scripts/bench snapshot waits for that).
  let making = true;
  const onSignal = (code: number) => () => {
    if (interrupted) return;
    interrupted = true;
    if (making) return;
    say('interrupted: removing the objects made');
    void remove().finally(() => process.exit(code));
  };
  process.once('SIGINT', onSignal(130));
  process.once('SIGTERM', onSignal(143));

  try {
    const status = await netbox<{ 'netbox-version': string }>('GET', 'status/');
    say(`making ${objects} interfaces in NetBox ${status['netbox-version']} (bulk POSTs, tag ${made.tag})`);
    const makeFrom = Date.now();
    await makeObjects(objects, made, (done) => {
      if (interrupted) throw new Error('interrupted');
      if (done % 2500 === 0 || done === objects) say(`${done}/${objects} made`);
    });
    const makeMs = Date.now() - makeFrom;
    making = false;
    say('waiting for NetBox (every interface listed, background queue empty)');
    await settled(made, 30 * MINUTES);

    say('starting a receiver with an empty spine');
    receiver = await startReceiver({
      brokers: process.env.KAFKA_BROKERS ?? '',
      netboxUrl: process.env.NETBOX_URL ?? '',
      netboxToken: process.env.NETBOX_TOKEN ?? '',
    });
    say('first snapshot (every object is missing from the spine)');
    const first = await runSnapshot(receiver, 60 * MINUTES);
    if (first.state !== 'completed') throw new Error(`the first snapshot ${first.state}: ${JSON.stringify(first.error)}`);
    const firstOnKafkaMs = await outboxDrained(receiver, 30 * MINUTES);
    say('second snapshot (nothing to repair)');
    const second = await runSnapshot(receiver, 60 * MINUTES);
    if (second.state !== 'completed') throw new Error(`the second snapshot ${second.state}: ${JSON.stringify(second.error)}`);
    await stopReceiver(receiver);
    receiver = null;

    const devices = made.devices.length;
    say('removing the objects made (bulk DELETEs)');
    const removeFrom = Date.now();
    await remove();
    const result: SnapshotBench = {
      command: process.env.BENCH_COMMAND ?? `scripts/bench snapshot --objects ${objects}`,
      codeVersion: process.env.BENCH_CODE_VERSION ?? 'unknown',
      kafkaVersion: process.env.BENCH_KAFKA_VERSION ?? 'unknown',
      netboxVersion: status['netbox-version'],
      startedAt,
      objects,
      devices,
      makeMs,
      removeMs: Date.now() - removeFrom,
      first,
      firstOnKafkaMs,
      second,
    };
    console.log(['', ...table(result), '', ...summary(result)].join('\n'));
    if (write) {
      writeBlock(DOC, markdown(result));
      say(`wrote its block of ${DOC}`);
    }
  } finally {
    if (receiver) await stopReceiver(receiver);
    if (made.parents.length) {
      say('removing the objects made (after a failure)');
      await remove().catch((error: unknown) => say(`could not remove them all (names bench-snap-*-${made.tag}): ${String(error)}`));
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
