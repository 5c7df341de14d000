/**
 * `scripts/bench catchup [--changes N] [--no-write]`: N changes lost to webhooks, recovered by the
 * changelog catch-up from a real NetBox. A receiver's first start marks NetBox's newest changelog row;
 * with NetBox's `unicop` event rule off (no webhook is sent; the plugin's batches go to its
 * receiver_url, never to this receiver's private port), N interfaces are made with bulk REST calls; the receiver's second start recovers them in one poll. Figures: that poll's duration (from
 * the receiver's start to its mark past the last change), until the events are on Kafka, NetBox
 * requests, events recovered. Then the objects are deleted and the rule set back as it was. Prints the
 * table and writes its block of docs/benchmarks.md. Asserts nothing; exits 1 when a step fails.
 */
import { loadavg } from 'node:os';
import { netbox, type NetboxList, type NetboxObject } from '../../receiver/test/helpers/netbox.js';
import { makeObjects, removeObjects, settled, type Made } from '../snapshot/objects.js';
import { machine, writeBlock } from '../snapshot/report.js';
import { drained, markReached, metric, OBJECT_TYPES, startReceiver, stopReceiver, type BenchReceiver } from './receiver.js';

const MINUTES = 60_000;
const DOC = 'docs/benchmarks.md';

function options(argv: string[]): { changes: number; write: boolean } {
  let changes = 10_000;
  let write = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--no-write') write = false;
    else if (arg === '--changes' && /^[1-9]\d{0,6}$/.test(argv[i + 1] ?? '')) changes = Number(argv[++i]);
    else throw new Error(`scripts/bench catchup: bad argument '${arg}' (--changes <1..9999999>, --no-write)`);
  }
  return { changes, write };
}

const say = (line: string): void => void process.stderr.write(`bench catchup: ${line}\n`);
const n = (x: number): string => x.toLocaleString('en-US');
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** NetBox's `unicop` event rule (null when there is none) and whether it was on. */
async function eventRule(): Promise<{ id: number; enabled: boolean } | null> {
  const page = await netbox<NetboxList<NetboxObject & { enabled: boolean }>>('GET', 'extras/event-rules/?name=unicop');
  const rule = page.results[0];
  return rule ? { id: rule.id, enabled: rule.enabled } : null;
}

/** Changelog rows above `afterId` of the types the receiver follows, and the newest of them. */
async function changesAfter(afterId: number): Promise<{ count: number; last: number }> {
  const types = OBJECT_TYPES.split(',')
    .map((t) => `changed_object_type=${t}`)
    .join('&');
  const page = await netbox<NetboxList>('GET', `core/object-changes/?id__gt=${afterId}&${types}&ordering=-id&limit=1`);
  return { count: page.count, last: page.results[0]?.id ?? afterId };
}

async function main(): Promise<void> {
  const { changes, write } = options(process.argv.slice(2));
  const startedAt = new Date().toISOString();
  const made: Made = { tag: Math.random().toString(16).slice(2, 10), parents: [], devices: [], interfaces: [] };
  const netboxSettings = { brokers: process.env.KAFKA_BROKERS ?? '', netboxUrl: process.env.NETBOX_URL ?? '', netboxToken: process.env.NETBOX_TOKEN ?? '' };
  let receiver: BenchReceiver | null = null;
  const rule = await eventRule();
  // One clean-up, whoever asks first (the end of the run, a failure, a signal): the receiver stopped,
  // the objects removed (the rule still off: no webhook for their deletes), the rule as it was.
  let cleaning: Promise<void> | null = null;
  const cleanUp = (): Promise<void> =>
    (cleaning ??= (async () => {
      if (receiver) await stopReceiver(receiver);
      receiver = null;
      if (made.parents.length) {
        say('removing the objects made (bulk DELETEs)');
        await removeObjects(made).catch((error: unknown) => say(`could not remove them all (names bench-snap-*-${made.tag}): ${String(error)}`));
      }
      if (rule?.enabled) await netbox('PATCH', `extras/event-rules/${rule.id}/`, { enabled: true });
    })());
  // A signal while objects are made stops at the next bulk request; later, it cleans up at once
  // (scripts/bench catchup waits for that).
  let interrupted = false;
  let making = false;
  const onSignal = (code: number) => () => {
    if (interrupted) return;
    interrupted = true;
    if (making) return;
    say('interrupted: cleaning up');
    void cleanUp().finally(() => process.exit(code));
  };
  process.once('SIGINT', onSignal(130));
  process.once('SIGTERM', onSignal(143));
  try {
    const status = await netbox<{ 'netbox-version': string }>('GET', 'status/');
    say('first receiver start: its catch-up marks the newest changelog row');
    receiver = await startReceiver(netboxSettings);
    await markReached(receiver, 0, 5 * MINUTES);
    const mark = (await metric(receiver, 'unicop_catchup_high_water_mark')) ?? 0;
    await stopReceiver(receiver);
    receiver = null;

    if (rule?.enabled) await netbox('PATCH', `extras/event-rules/${rule.id}/`, { enabled: false });
    say(`event rule off; making ${changes} interfaces in NetBox ${status['netbox-version']} (bulk POSTs, tag ${made.tag})`);
    const makeFrom = Date.now();
    making = true;
    await makeObjects(changes, made, (done) => {
      if (interrupted) throw new Error('interrupted');
      if (done % 2500 === 0 || done === changes) say(`${done}/${changes} made`);
    });
    making = false;
    const makeMs = Date.now() - makeFrom;
    await settled(made, 30 * MINUTES);
    const lost = await changesAfter(mark);

    say(`second receiver start: one poll recovers the ${lost.count} changes`);
    const from = Date.now();
    receiver = await startReceiver(netboxSettings);
    const readyMs = Date.now() - from;
    const markMs = (await markReached(receiver, lost.last, 60 * MINUTES)) - from;
    const kafkaMs = (await drained(receiver, 60 * MINUTES)) - from;
    const requests = (await metric(receiver, 'unicop_catchup_netbox_requests_total')) ?? 0;
    const recovered = (await metric(receiver, 'unicop_catchup_recovered_total')) ?? 0;
    const rejected = (await metric(receiver, 'unicop_catchup_rejected_total')) ?? 0;
    await cleanUp();
    const rows = [
      '| | |',
      '|---|---:|',
      `| changes lost (changelog rows of ${OBJECT_TYPES}) | ${n(lost.count)} |`,
      `| events recovered / rows kept as rejects | ${n(recovered)} / ${n(rejected)} |`,
      `| the poll: receiver start → mark past the last change | ${secs(markMs)} |`,
      `| receiver start → every event on Kafka | ${secs(kafkaMs)} |`,
      `| of which the receiver's own start (until /readyz) | ${secs(readyMs)} |`,
      `| NetBox requests of the poll | ${n(requests)} |`,
      `| changes recovered per second (poll) | ${n(Math.round(lost.count / Math.max(markMs / 1000, 0.001)))} |`,
    ];
    const notes = [
      `Changes made: ${n(changes)} interfaces (and their devices and site) with bulk POSTs of 250 in ${secs(makeMs)}, NetBox's event rule off, so no webhook carried them.`,
      `NetBox requests: the version, NetBox's newest row, a page of row keys per 1,000 rows, and per chunk of 1,000 rows to recover their whole rows and their objects by id (a few hundred per request), at most UNICOP_CATCHUP_RATE (${process.env.UNICOP_CATCHUP_RATE ?? '10'}) per second.`,
    ];
    console.log(['', ...rows, '', ...notes].join('\n'));
    if (write) {
      const body = [
        '## Changelog catch-up (`scripts/bench catchup`)',
        '',
        `Last run ${startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}; code measured: ${process.env.BENCH_CODE_VERSION ?? 'unknown'}.  `,
        `Machine: ${machine()}; load average (1 min) at the end ${loadavg()[0]?.toFixed(2)}.  `,
        `NetBox ${status['netbox-version']} (scripts/netbox, same machine); Kafka ${process.env.BENCH_KAFKA_VERSION ?? 'unknown'} (single node, scripts/kafka).`,
        '',
        '```sh',
        process.env.BENCH_COMMAND ?? `scripts/bench catchup --changes ${changes}`,
        '```',
        '',
        ...rows,
        '',
        ...notes.map((line) => `${line}  `),
        '',
      ].join('\n');
      writeBlock(DOC, body, 'catchup');
      say(`wrote its block of ${DOC}`);
    }
  } finally {
    making = false;
    await cleanUp();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
