/**
 * `scripts/bench bulk [--count N] [--no-write]`: how long a NetBox bulk change takes to reach Kafka, against NetBox's
 * own answer to the same request. A receiver (own data dir and topics, on the port and with the secret NetBox's
 * plugin is configured with) takes what NetBox sends; one REST request creates N interfaces on a new device, a second
 * edits all N. For each: NetBox's response time, the time from the request's start to the last of its N events on
 * Kafka, their ratio (target ≤ 1.25), events/s, and how the events came (batches, items, webhooks: the receiver's
 * counters). The objects are deleted at the end. Prints the table and writes its block of docs/benchmarks.md.
 * Asserts nothing; exits 1 when a step fails.
 */
import { loadavg } from 'node:os';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { netbox, type NetboxObject } from '../../receiver/test/helpers/netbox.js';
import { waitFor } from '../../receiver/test/helpers/wait-for.js';
import { machine, writeBlock } from '../snapshot/report.js';
import { metric } from '../catchup/receiver.js';
import { startBulkReceiver, stopReceiver, TOPIC_PREFIX, type BenchReceiver } from './receiver.js';

const DOC = 'docs/benchmarks.md';
const TARGET = 1.25;

interface Phase {
  what: string;
  netboxMs: number;
  lastOnKafkaMs: number;
  batches: number;
  items: number;
  webhooks: number;
}

function options(argv: string[]): { count: number; write: boolean } {
  let count = 1000;
  let write = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--no-write') write = false;
    else if (arg === '--count' && /^[1-9]\d{0,4}$/.test(argv[i + 1] ?? '')) count = Number(argv[++i]);
    else throw new Error(`scripts/bench bulk: bad argument '${arg}' (--count <1..99999>, --no-write)`);
  }
  return { count, write };
}

const say = (line: string): void => void process.stderr.write(`bench bulk: ${line}\n`);
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Arrival time on Kafka (consumer side) of each event, by `type subject`. */
async function watchEvents(brokers: string, arrivals: Map<string, number>): Promise<Consumer> {
  const kafka = new Kafka({ clientId: 'bench-bulk', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bench-bulk-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: `${TOPIC_PREFIX}.events.v1`, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const event = JSON.parse(message.value?.toString() ?? '{}') as { type?: string; subject?: string };
      arrivals.set(`${event.type} ${event.subject}`, Date.now());
    },
  });
  return consumer;
}

async function counters(r: BenchReceiver): Promise<{ batches: number; items: number; webhooks: number }> {
  return {
    batches: (await metric(r, 'unicop_batch_requests_total')) ?? 0,
    items: (await metric(r, 'unicop_batch_items_total')) ?? 0,
    webhooks: (await metric(r, 'unicop_webhook_requests_total')) ?? 0,
  };
}

/** One bulk request: NetBox's answer time, then the wait for its `keys` events on Kafka. */
async function phase(what: string, r: BenchReceiver, arrivals: Map<string, number>, request: () => Promise<string[]>): Promise<Phase> {
  const before = await counters(r);
  const started = Date.now();
  const keys = await request();
  const netboxMs = Date.now() - started;
  say(`${what}: NetBox answered in ${secs(netboxMs)}; waiting for ${keys.length} events on Kafka`);
  let told = Date.now();
  const last = await waitFor(
    () => {
      const seen = keys.filter((k) => arrivals.has(k)).length;
      if (Date.now() - told > 10_000) {
        told = Date.now();
        say(`${what}: ${seen} of ${keys.length} events on Kafka after ${secs(Date.now() - started)}`);
      }
      return seen === keys.length ? Math.max(...keys.map((k) => arrivals.get(k) ?? 0)) : undefined;
    },
    30 * 60_000,
    `${keys.length} ${what} events on Kafka`,
  );
  const after = await counters(r);
  return {
    what,
    netboxMs,
    lastOnKafkaMs: last - started,
    batches: after.batches - before.batches,
    items: after.items - before.items,
    webhooks: after.webhooks - before.webhooks,
  };
}

function report(count: number, phases: Phase[]): string[] {
  const lines = [
    `| request (${count.toLocaleString('en-US')} interfaces, one device) | NetBox's answer | last event on Kafka | ratio (target ≤ ${TARGET}) | events/s | batches | batch items | webhooks |`,
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const p of phases) {
    const ratio = p.lastOnKafkaMs / p.netboxMs;
    lines.push(
      `| ${p.what} | ${secs(p.netboxMs)} | ${secs(p.lastOnKafkaMs)} | ${ratio.toFixed(2)} ${ratio <= TARGET ? 'met' : '**missed**'} | ${Math.round(count / (p.lastOnKafkaMs / 1000))} | ${p.batches} | ${p.items} | ${p.webhooks} |`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const { count, write } = options(process.argv.slice(2));
  const startedAt = new Date().toISOString();
  const tag = Math.random().toString(16).slice(2, 10);
  const arrivals = new Map<string, number>();
  const receiver = await startBulkReceiver();
  const consumer = await watchEvents(receiver.brokers, arrivals);
  const parents: { path: string; id: number }[] = [];
  let interfaces: NetboxObject[] = [];
  try {
    const make = async (path: string, body: Record<string, unknown>): Promise<number> => {
      const { id } = await netbox('POST', path, body);
      parents.unshift({ path, id });
      return id;
    };
    const name = (kind: string): string => `bench-bulk-${kind}-${tag}`;
    const site = await make('dcim/sites/', { name: name('site'), slug: name('site'), status: 'active' });
    const manufacturer = await make('dcim/manufacturers/', { name: name('m'), slug: name('m') });
    const deviceType = await make('dcim/device-types/', { manufacturer, model: name('t'), slug: name('t') });
    const role = await make('dcim/device-roles/', { name: name('r'), slug: name('r') });
    const device = await make('dcim/devices/', { name: name('d'), device_type: deviceType, role, site, status: 'active' });
    const keysOf = (type: string): string[] => interfaces.map((i) => `unicop.object.${type} dcim.interface:${i.id}`);
    const phases: Phase[] = [];
    phases.push(
      await phase('bulk create (REST POST)', receiver, arrivals, async () => {
        const body = Array.from({ length: count }, (_, i) => ({ device, name: `eth${i}`, type: '1000base-t' }));
        interfaces = await netbox<NetboxObject[]>('POST', 'dcim/interfaces/', body);
        return keysOf('created');
      }),
    );
    phases.push(
      await phase('bulk edit (REST PATCH)', receiver, arrivals, async () => {
        await netbox(
          'PATCH',
          'dcim/interfaces/',
          interfaces.map((i) => ({ id: i.id, description: `bulk ${tag}` })),
        );
        return keysOf('updated');
      }),
    );
    const status = await netbox<Record<string, string>>('GET', 'status/');
    const lines = [
      `Run ${startedAt} with \`${process.env.BENCH_COMMAND ?? 'scripts/bench bulk'}\` on code ${process.env.BENCH_CODE_VERSION ?? 'unknown'}.  `,
      `Machine: ${machine()}; load average (1 min) at the end ${loadavg()[0]?.toFixed(2)}.  `,
      `NetBox ${status['netbox-version']} (scripts/netbox: gunicorn, one rqworker serving the plugin's queue; same machine); Kafka ${process.env.BENCH_KAFKA_VERSION ?? 'unknown'} (single node, scripts/kafka).`,
      '',
      ...report(count, phases),
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (write) writeBlock(DOC, `## NetBox bulk changes to Kafka (\`scripts/bench bulk\`)\n\n${lines.join('\n')}\n`, 'bulk');
  } finally {
    await consumer.disconnect().catch(() => undefined);
    if (interfaces.length > 0)
      await netbox(
        'DELETE',
        'dcim/interfaces/',
        interfaces.map((i) => ({ id: i.id })),
      ).catch(() => undefined);
    for (const { path, id } of parents) await netbox('DELETE', `${path}${id}/`).catch(() => undefined);
    await stopReceiver(receiver);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    say(`failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
