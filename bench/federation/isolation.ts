/**
 * Part 2, route A while route B is down: one receiver process (`receiver/src/main.ts`) with a 2-route
 * file — region "emea" → broker A, "*" → broker B — under a steady open-loop load, half of it for each
 * route. Phases: both brokers up; B SIGSTOPped; B continued; B SIGKILLed; B restarting (`scripts/kafka
 * up`); B back. Per phase, route A's POST → visible-on-A's-events-topic latency; at the end every
 * accepted route B event is looked for on B's topic (lost and duplicated counted). Figures only.
 */
import { mkdirSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { FIXTURE_REPLAY_ENV, TEST_SECRET } from '../../receiver/test/helpers/fixtures.js';
import { waitFor } from '../../receiver/test/helpers/wait-for.js';
import { startChild, stopChild } from '../load/procs.js';
import { percentile, say, sleep } from '../load/stats.js';
import { RegionBodies, type RegionBody } from './bodies.js';
import type { Broker } from './brokers.js';
import { writeFederationFile } from './federation-files.js';
import { TopicReader } from './topic-reader.js';

export interface IsolationSettings {
  a: Broker;
  b: Broker;
  tmp: string;
  port: number;
  /** Webhooks per second, both routes together. */
  rate: number;
  /** Seconds of the baseline, SIGSTOP and SIGKILL phases (the two recovery phases get half). */
  phaseS: number;
  roots: number;
}

export const PHASES = ['both up', 'B SIGSTOPped', 'B continued', 'B SIGKILLed', 'B restarting', 'B back'] as const;
/** The load's first seconds (JIT, producers' first batches) are not reported. */
export type Phase = (typeof PHASES)[number] | 'warm-up';

export interface PhaseFigures {
  phase: Phase;
  seconds: number;
  aAccepted: number;
  aSeen: number;
  /** POST → first seen on A's events topic, ms. */
  aMs: { p50: number; p90: number; p99: number; max: number };
  aAcceptP99Ms: number;
  bAccepted: number;
  non202: number;
  /** /readyz answers seen during the phase (status → count). */
  readyz: Record<string, number>;
  /** Route B's outbox depth, highest seen and the last seen in the phase. */
  bDepthMax: number;
  bDepthEnd: number;
}

export interface IsolationFigures {
  rate: number;
  phaseS: number;
  phases: PhaseFigures[];
  bAccepted: number;
  bOnTopic: number;
  bLost: number;
  bDuplicates: number;
  aLost: number;
  /** From `scripts/kafka up` returning until route B's depth was 0. */
  bDrainedAfterRestartMs: number;
  restartMs: number;
}

interface Post {
  requestId: string;
  route: 'A' | 'B';
  phase: Phase;
  t0: number;
  acceptMs: number;
  status: number;
}

function post(url: URL, agent: Agent, body: RegionBody): Promise<number> {
  return new Promise((resolve) => {
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
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end(body.raw);
  });
}

interface ReadyzSample {
  phase: Phase;
  at: number;
  status: string;
  bDepth: number;
}

async function readyz(url: URL): Promise<{ status: string; bDepth: number }> {
  try {
    const res = await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { status: string; checks: { routes: Record<string, { depth: number }> } };
    return { status: body.status, bDepth: body.checks.routes['route-b']?.depth ?? NaN };
  } catch {
    return { status: 'no answer', bDepth: NaN };
  }
}

export async function measureIsolation(s: IsolationSettings): Promise<IsolationFigures> {
  const dir = join(s.tmp, 'isolation');
  mkdirSync(dir, { recursive: true });
  const prefix = `fi${Date.now().toString(36)}`;
  const file = writeFederationFile(dir, 'two-routes', TEST_SECRET, [
    { scope: { regions: ['emea'] }, brokers: s.a.brokers, topicPrefix: prefix, name: 'route-a' },
    { scope: '*', brokers: s.b.brokers, topicPrefix: prefix, name: 'route-b' },
  ]);
  const receiver = startChild('isolation-receiver', ['--import', 'tsx', 'receiver/src/main.ts'], {
    UNICOP_FEDERATION: file,
    UNICOP_DATA_DIR: join(dir, 'data'),
    PORT: String(s.port),
    HOST: '127.0.0.1',
    UNICOP_LOG_LEVEL: 'info',
    ...FIXTURE_REPLAY_ENV,
  });
  const url = new URL(`http://127.0.0.1:${s.port}`);
  const readerA = new TopicReader(s.a.brokers, `${prefix}.events.v1`);
  const readerB = new TopicReader(s.b.brokers, `${prefix}.events.v1`);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  try {
    await waitFor(async () => (await readyz(url)).status === 'ready', 120_000, `the receiver ready (log: ${receiver.log})`);
    const bodies = new RegionBodies(TEST_SECRET);
    const half = Math.max(1, Math.floor(s.roots / 2));
    // devices 1…half are in emea (route A), the others elsewhere (route B, the "*" entry)
    const bodyFor = (i: number): RegionBody =>
      i % 2 === 0 ? bodies.next(1 + ((i / 2) % half), 'emea') : bodies.next(1 + half + (((i - 1) / 2) % half), 'amer');

    // Warm-up: both routes' topics exist and the A consumer reads before anything is measured.
    const warm = Array.from({ length: 20 }, (_, i) => bodyFor(i));
    for (const body of warm) await post(url, agent, body);
    await readerA.start();
    if (
      !(await readerA.waitAll(
        warm.filter((b) => b.region === 'emea').map((b) => b.requestId),
        60_000,
      ))
    )
      throw new Error('warm-up events never reached broker A');

    let phase: Phase = 'warm-up';
    const posts: Post[] = [];
    const samples: ReadyzSample[] = [];
    const phaseStart = new Map<Phase, number>([[phase, performance.now()]]);
    let loading = true;
    const inFlight: Promise<void>[] = [];
    const loadLoop = (async () => {
      const interval = 1000 / s.rate;
      const began = performance.now();
      for (let i = 0; loading; i++) {
        const wait = began + i * interval - performance.now();
        if (wait > 1) await sleep(wait);
        const body = bodyFor(i + warm.length);
        const entry: Post = { requestId: body.requestId, route: body.region === 'emea' ? 'A' : 'B', phase, t0: performance.now(), acceptMs: NaN, status: 0 };
        posts.push(entry);
        inFlight.push(
          post(url, agent, body).then((status) => {
            entry.status = status;
            entry.acceptMs = performance.now() - entry.t0;
          }),
        );
      }
    })();
    const readyzLoop = (async () => {
      while (loading) {
        const r = await readyz(url);
        samples.push({ phase, at: performance.now(), ...r });
        await sleep(250);
      }
    })();
    const enter = (next: Phase): void => {
      phase = next;
      phaseStart.set(next, performance.now());
      say(`isolation: ${next}`);
    };

    say(`isolation: ${s.rate} webhooks/s (half each route), phases of ${s.phaseS} s after a warm-up of ${s.phaseS / 2} s`);
    await sleep((s.phaseS * 1000) / 2);
    enter('both up');
    await sleep(s.phaseS * 1000);
    s.b.pause();
    enter('B SIGSTOPped');
    await sleep(s.phaseS * 1000);
    s.b.resume();
    enter('B continued');
    await sleep((s.phaseS * 1000) / 2);
    await s.b.kill();
    enter('B SIGKILLed');
    await sleep(s.phaseS * 1000);
    enter('B restarting');
    const restartT0 = performance.now();
    await s.b.up();
    const restarted = performance.now();
    enter('B back');
    await sleep((s.phaseS * 1000) / 2);
    loading = false;
    const ended = performance.now();
    await loadLoop;
    await Promise.all(inFlight);
    await readyzLoop;

    const accepted = (route: 'A' | 'B') => posts.filter((p) => p.route === route && p.status === 202).map((p) => p.requestId);
    say('isolation: load ended; waiting for every accepted event on its broker');
    await readerA.waitAll(accepted('A'), 60_000);
    const drained = await waitFor(async () => ((await readyz(url)).bDepth === 0 ? performance.now() : null), 300_000, 'route B drained').catch(() => NaN);
    const drainedAt = Math.min(drained, ...samples.filter((x) => x.at > restarted && x.bDepth === 0).map((x) => x.at));
    await readerB.start();
    await readerB.waitAll(accepted('B'), 120_000);

    const phases = PHASES.map((p, i): PhaseFigures => {
      const mine = posts.filter((x) => x.phase === p);
      const aOk = mine.filter((x) => x.route === 'A' && x.status === 202);
      const latencies = aOk.flatMap((x) => {
        const seen = readerA.seen.get(x.requestId);
        return seen ? [seen.at - x.t0] : [];
      });
      const end = phaseStart.get(PHASES[i + 1]!) ?? ended;
      const depths = samples.filter((x) => x.phase === p && Number.isFinite(x.bDepth)).map((x) => x.bDepth);
      const readyzSeen: Record<string, number> = {};
      for (const sample of samples.filter((x) => x.phase === p)) readyzSeen[sample.status] = (readyzSeen[sample.status] ?? 0) + 1;
      return {
        phase: p,
        seconds: (end - (phaseStart.get(p) ?? end)) / 1000,
        aAccepted: aOk.length,
        aSeen: latencies.length,
        aMs: { p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), max: percentile(latencies, 100) },
        aAcceptP99Ms: percentile(
          mine.filter((x) => x.route === 'A').map((x) => x.acceptMs),
          99,
        ),
        bAccepted: mine.filter((x) => x.route === 'B' && x.status === 202).length,
        non202: mine.filter((x) => x.status !== 202).length,
        readyz: readyzSeen,
        bDepthMax: Math.max(0, ...depths),
        bDepthEnd: depths.at(-1) ?? NaN,
      };
    });
    const bIds = accepted('B');
    return {
      rate: s.rate,
      phaseS: s.phaseS,
      phases,
      bAccepted: bIds.length,
      bOnTopic: bIds.filter((id) => readerB.seen.has(id)).length,
      bLost: bIds.filter((id) => !readerB.seen.has(id)).length,
      bDuplicates: bIds.reduce((n, id) => n + Math.max(0, (readerB.seen.get(id)?.times ?? 1) - 1), 0),
      aLost: accepted('A').filter((id) => !readerA.seen.has(id)).length,
      bDrainedAfterRestartMs: drainedAt - restarted,
      restartMs: restarted - restartT0,
    };
  } finally {
    agent.destroy();
    await readerA.stop();
    await readerB.stop();
    await stopChild(receiver.child, 'SIGTERM', 20_000);
  }
}
