/**
 * scripts/bench iam, the measuring part (./run starts the broker). Three receivers in this process,
 * built as the tests build them (real SQLite, real Kafka), differ only in how /v1 callers are
 * checked: UNICOP_API_TOKENS; an IAM policy with a service token; the same policy with OIDC (a JWKS
 * server with jose keys). Rounds are interleaved (A B C A B C …) so drift of the machine hits all
 * three alike; latencies are per request, in microseconds, from a closed loop of keep-alive
 * requests. Then two storms against an OIDC receiver with the default 30 s JWKS cooldown.
 */
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signed } from '../../receiver/test/helpers/fixtures.js';
import { TestIssuer, deviceUpdate, iamPolicyFile, sha256hex } from '../../receiver/test/helpers/iam.js';
import { postRaw, startTestReceiver, type TestReceiver } from '../../receiver/test/helpers/receiver.js';
import { percentile, say } from '../load/stats.js';

const durationS = Number(process.env.BENCH_DURATION ?? 3);
const rounds = Number(process.env.BENCH_RUNS ?? 3);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const stormS = Number(process.env.BENCH_IAM_STORM_S ?? 20);
const rotateMs = Number(process.env.BENCH_IAM_ROTATE_MS ?? 250);
const AUDIENCE = 'unicop-bench';
const TOKEN = 'bench-service-token-0123456789abcdef';
const ROOT_PATH = '/v1/roots/dcim.device:1';

async function listening(t: TestReceiver): Promise<{ url: string; close: () => Promise<void> }> {
  const server = t.receiver.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { raw, signature } = signed(deviceUpdate(1, { site: 'ams1', region: 'nl', regions: ['nl', 'emea'] }, 1));
  const res = await postRaw(t, raw, { 'content-type': 'application/json', 'x-hook-signature': signature });
  if (res.status !== 202) throw new Error(`seeding the root failed: ${res.status}`);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await t.close();
    },
  };
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });
function get(url: string, bearer: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${ROOT_PATH}`, { agent, headers: { authorization: `Bearer ${bearer}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A closed loop of `concurrency` callers for `seconds`; latencies in µs of 200 answers, and any other status counted. */
async function loop(url: string, bearer: () => string | Promise<string>, seconds: number, into: number[]): Promise<Record<string, number>> {
  const until = Date.now() + seconds * 1000;
  const statuses: Record<string, number> = {};
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        const token = await bearer();
        const start = process.hrtime.bigint();
        const status = await get(url, token);
        if (status === 200) into.push(Number(process.hrtime.bigint() - start) / 1000);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }),
  );
  return statuses;
}

async function main(): Promise<void> {
  const issuer = await new TestIssuer().start();
  const policy = iamPolicyFile({
    version: 1,
    roles: { operator: ['roots:read', 'roots:reconcile'] },
    tokens: [{ name: 'bench', sha256: sha256hex(TOKEN) }],
    bindings: [
      { subjects: { tokens: ['bench'] }, role: 'operator', scope: { regions: ['emea'] } },
      { subjects: { groups: ['netops-emea'] }, role: 'operator', scope: { regions: ['emea'] } },
    ],
  });
  const oidcEnv = { UNICOP_IAM_POLICY: policy, UNICOP_OIDC_ISSUER: issuer.issuer, UNICOP_OIDC_AUDIENCE: AUDIENCE };
  // One long-lived JWT, as a client reuses its access token: verification is what is measured, not signing.
  const jwt = await issuer.sign(AUDIENCE, { preferred_username: 'bench', groups: ['netops-emea'], exp: Math.floor(Date.now() / 1000) + 3600 });
  const variants = [
    { name: 'UNICOP_API_TOKENS (no policy)', receiver: await listening(startTestReceiver({ UNICOP_API_TOKENS: TOKEN })), bearer: TOKEN },
    { name: 'IAM policy, service token', receiver: await listening(startTestReceiver({ UNICOP_IAM_POLICY: policy })), bearer: TOKEN },
    { name: 'IAM policy, OIDC JWT (RS256)', receiver: await listening(startTestReceiver(oidcEnv)), bearer: jwt },
  ];
  const samples = variants.map(() => [] as number[]);
  const others = variants.map(() => 0);
  try {
    for (const v of variants) await loop(v.receiver.url, () => v.bearer, 1, []); // warm-up (JIT, JWKS fetch)
    for (let r = 0; r < rounds; r++) {
      for (const [i, v] of variants.entries()) {
        say(`round ${r + 1}/${rounds}: ${v.name}`);
        const statuses = await loop(v.receiver.url, () => v.bearer, durationS, samples[i]!);
        others[i]! += Object.entries(statuses).reduce((n, [s, c]) => n + (s === '200' ? 0 : c), 0);
      }
    }
    const base = percentile(samples[0]!, 50);
    console.log(`\nGET ${ROOT_PATH}: ${rounds} interleaved rounds of ${durationS} s, ${concurrency} in flight, same process and run\n`);
    console.log('| variant | requests | p50 µs | p99 µs | p50 added µs | non-200 |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const [i, v] of variants.entries()) {
      const s = samples[i]!;
      const p50 = percentile(s, 50);
      console.log(
        `| ${v.name} | ${s.length} | ${p50.toFixed(0)} | ${percentile(s, 99).toFixed(0)} | ${i === 0 ? '—' : (p50 - base).toFixed(0)} | ${others[i]} |`,
      );
    }
  } finally {
    for (const v of variants) await v.receiver.close();
  }
  await storms(issuer, oidcEnv);
  await issuer.close();
  agent.destroy();
}

/** JWKS fetches per minute when every token names a new kid: published ones (a rotation) and made-up ones (an attack). */
async function storms(issuer: TestIssuer, env: Record<string, string>): Promise<void> {
  console.log(`\nJWKS fetches under a token-rotation storm: ${stormS} s each, default 30 s cooldown, ${concurrency} in flight\n`);
  console.log('| storm | new kids | requests | 200 | 401 KEY_UNKNOWN | JWKS fetches | fetches per minute |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const kind of ['rotation (each new key published)', 'made-up kids (never published)'] as const) {
    const r = await listening(startTestReceiver(env));
    const before = issuer.jwksRequests;
    let newest = await issuer.sign(AUDIENCE, { preferred_username: 'bench', groups: ['netops-emea'] });
    let kids = 0;
    let rotating = true;
    const rotation = (async () => {
      while (rotating) {
        const key = kind.startsWith('rotation') ? null : await issuer.unpublishedKey();
        if (key === null) await issuer.rotate();
        newest = await issuer.sign(AUDIENCE, { preferred_username: 'bench', groups: ['netops-emea'] }, key ?? undefined);
        kids++;
        await new Promise((resolve) => setTimeout(resolve, rotateMs));
      }
    })();
    const statuses = await loop(r.url, () => newest, stormS, []);
    rotating = false;
    await rotation;
    const fetches = issuer.jwksRequests - before;
    const requests = Object.values(statuses).reduce((a, b) => a + b, 0);
    const unknownKid = statuses['401'] ?? 0;
    console.log(`| ${kind} | ${kids} | ${requests} | ${statuses['200'] ?? 0} | ${unknownKid} | ${fetches} | ${((fetches / stormS) * 60).toFixed(1)} |`);
    await r.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
