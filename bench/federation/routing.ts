/**
 * Part 1, routing cost per event: three receivers in this process (real SQLite, relays publishing to
 * the real broker A), the same signed device updates spread over 50 regions posted to each in
 * interleaved rounds — (i) no federation file, (ii) a file with one route, (iii) a file with 50
 * routes (49 regions + "*", each its own topic prefix, so 50 relays). Per round: wall and CPU µs per
 * accepted event (this process: the HTTP client, the receiver and its relays), then the time until
 * the relays had published everything. Also `routeOf` alone, the pure first-match function.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { loadConfig } from '../../receiver/src/config.js';
import { createLogger } from '../../receiver/src/log.js';
import type { Scope } from '../../receiver/src/model/event.js';
import { createReceiver, type Receiver } from '../../receiver/src/receiver.js';
import { FIXTURE_REPLAY_ENV, TEST_SECRET } from '../../receiver/test/helpers/fixtures.js';
import { waitFor } from '../../receiver/test/helpers/wait-for.js';
import { say } from '../load/stats.js';
import { RegionBodies, type RegionBody } from './bodies.js';
import { manyRoutes, regionSlugs, writeFederationFile } from './federation-files.js';

export interface RoutingSettings {
  brokers: string;
  tmp: string;
  events: number;
  rounds: number;
  concurrency: number;
  roots: number;
  partitions: number;
  /** Routes of the many-route file (50). */
  manyRoutes: number;
}

export interface RoutingVariant {
  name: string;
  routes: number;
  usPerEvent: number[];
  cpuUsPerEvent: number[];
  drainMs: number[];
  non202: number;
  /** ns per `routeOf` call over the bodies' scopes. */
  routeOfNs: number;
}

interface Running {
  name: string;
  routes: number;
  receiver: Receiver;
  url: URL;
  close(): Promise<void>;
}

async function start(name: string, tmp: string, env: Record<string, string>, partitions: number): Promise<Running> {
  const dataDir = mkdtempSync(join(tmp, 'routing-'));
  const config = loadConfig({
    UNICOP_DATA_DIR: dataDir,
    UNICOP_TOPIC_PARTITIONS: String(partitions),
    UNICOP_LOG_LEVEL: 'silent',
    // the bodies keep the fixture's capture time; the outbox must hold a whole round while relays catch up
    ...FIXTURE_REPLAY_ENV,
    UNICOP_OUTBOX_LIMIT: '10000000',
    ...env,
  });
  const receiver = createReceiver(config, createLogger('silent'));
  const server = receiver.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  // every relay has reached the broker (its topics are made before its first publish: the warm-up round)
  await waitFor(() => [...receiver.relays.values()].every((r) => r.reachable), 120_000, `${name}: every route reachable`);
  return {
    name,
    routes: receiver.federation.routes.length,
    receiver,
    url,
    async close() {
      server.closeAllConnections();
      server.close();
      await receiver.stop(5000);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function post(url: URL, agent: Agent, body: RegionBody): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: '/v1/netbox/webhooks',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': body.raw.length, 'x-hook-signature': body.signature },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body.raw);
  });
}

/** `bodies` through `concurrency` keep-alive callers; wall and CPU time of the whole process. */
async function load(run: Running, bodies: RegionBody[], concurrency: number): Promise<{ wallUs: number; cpuUs: number; accepted: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  let accepted = 0;
  const cpu = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const status = await post(run.url, agent, bodies[next++]!);
        if (status === 202) accepted++;
      }
    }),
  );
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  const used = process.cpuUsage(cpu);
  agent.destroy();
  return { wallUs, cpuUs: used.user + used.system, accepted };
}

/** Every route's relay has published what was committed (the receiver's own per-route depths). */
async function drained(run: Running): Promise<number> {
  const t0 = Date.now();
  await waitFor(() => [...run.receiver.store.depthByRoute().values()].every((d) => d === 0), 600_000, `${run.name}: outbox drained`);
  return Date.now() - t0;
}

function routeOfNs(run: Running, regions: readonly string[]): number {
  const scopes: Scope[] = regions.map((region) => ({ tenant: null, site: `site-${region}`, region, regions: [region] }));
  const calls = 1_000_000;
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) sink += run.receiver.federation.routeOf(scopes[i % scopes.length]!).name.length;
  const ns = Number(process.hrtime.bigint() - t0) / calls;
  if (sink === 0) throw new Error('routeOf returned nothing');
  return ns;
}

export async function measureRouting(s: RoutingSettings): Promise<RoutingVariant[]> {
  const regions = regionSlugs(s.manyRoutes);
  const bodies = new RegionBodies(TEST_SECRET);
  const regionOf = (device: number): string => regions[device % regions.length]!;
  const make = (n: number): RegionBody[] =>
    Array.from({ length: n }, (_, i) => {
      const device = 1 + (i % s.roots);
      return bodies.next(device, regionOf(device));
    });
  const dir = join(s.tmp, 'federation-files');
  const prefix = `fb${Date.now().toString(36)}`;
  const oneRoute = writeFederationFile(dir, 'one-route', TEST_SECRET, [{ scope: '*', brokers: s.brokers, topicPrefix: `${prefix}-one` }]);
  const many = writeFederationFile(dir, `${s.manyRoutes}-routes`, TEST_SECRET, manyRoutes(s.manyRoutes, s.brokers, `${prefix}-many`));

  say(`routing: starting 3 receivers in this process (the ${s.manyRoutes}-route one makes ${s.manyRoutes} topic sets on the broker)`);
  const runs: Running[] = [];
  try {
    runs.push(
      await start(
        'no federation file',
        s.tmp,
        { KAFKA_BROKERS: s.brokers, UNICOP_WEBHOOK_SECRETS: TEST_SECRET, UNICOP_TOPIC_PREFIX: `${prefix}-none` },
        s.partitions,
      ),
    );
    runs.push(await start('federation file, 1 route', s.tmp, { UNICOP_FEDERATION: oneRoute }, s.partitions));
    runs.push(await start(`federation file, ${s.manyRoutes} routes`, s.tmp, { UNICOP_FEDERATION: many }, s.partitions));
    const results = runs.map((r) => ({
      name: r.name,
      routes: r.routes,
      usPerEvent: [] as number[],
      cpuUsPerEvent: [] as number[],
      drainMs: [] as number[],
      non202: 0,
      routeOfNs: NaN,
    }));
    for (const run of runs) {
      say(`routing: warm-up of ${run.name} (JIT, every route's topics made)`);
      await load(run, make(Math.min(2000, s.events)), s.concurrency);
      await drained(run);
    }
    for (let round = 0; round < s.rounds; round++) {
      for (const [i, run] of runs.entries()) {
        const set = make(s.events);
        say(`routing: round ${round + 1}/${s.rounds}, ${run.name}: ${s.events} webhooks`);
        const { wallUs, cpuUs, accepted } = await load(run, set, s.concurrency);
        const r = results[i]!;
        r.usPerEvent.push(wallUs / Math.max(accepted, 1));
        r.cpuUsPerEvent.push(cpuUs / Math.max(accepted, 1));
        r.non202 += s.events - accepted;
        r.drainMs.push(await drained(run));
      }
    }
    for (const [i, run] of runs.entries()) results[i]!.routeOfNs = routeOfNs(run, regions);
    return results;
  } finally {
    for (const run of runs) await run.close();
  }
}
