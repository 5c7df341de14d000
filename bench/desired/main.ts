import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DesiredProjection } from '../../receiver/src/desired/desired-projection.js';
import { DesiredStore } from '../../receiver/src/desired/desired-store.js';
import { createLogger } from '../../receiver/src/log.js';
import type { DraftEvent } from '../../receiver/src/model/event.js';
import type { ValidWebhook } from '../../receiver/src/model/netbox-webhook.js';
import { DEFAULT_ROOT_POLICY } from '../../receiver/src/pipeline/normalize/default-root-policy.js';
import { createNormalizer } from '../../receiver/src/pipeline/normalize/normalize.js';
import { createRootResolver } from '../../receiver/src/pipeline/normalize/root-policy.js';
import { GroupCommit } from '../../receiver/src/pipeline/outbox/group-commit.js';
import { OutboxStore } from '../../receiver/src/pipeline/outbox/outbox-store.js';
import { sequenceEvent } from '../../receiver/src/pipeline/sequence/sequencer.js';
import { openReceiverDatabase } from '../../receiver/src/receiver-database.js';
import { interfaceUpdate } from '../../receiver/test/helpers/fixtures.js';
import { median } from '../load/stats.js';

const ROOTS = Number(process.env.BENCH_ROOTS ?? 200);
const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 24);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Appends in flight: the group commit writes what one event-loop turn collected in one transaction. */
const BATCH = 64;

const normalize = createNormalizer({ source: 'netbox://bench', resolveRoot: createRootResolver(DEFAULT_ROOT_POLICY) });

/** Interface updates spread over the roots, each a new version (a fresh request and a later last_updated). */
function drafts(offset: number): DraftEvent[] {
  const out: DraftEvent[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const root = 1 + (i % ROOTS);
    const member = root * 1000 + (Math.floor(i / ROOTS) % MEMBERS);
    const body = interfaceUpdate(root, member, offset + i) as unknown as ValidWebhook['body'];
    out.push(normalize({ shape: '4.7', body, bytes: 0 }));
  }
  return out;
}

/** µs per event for one round, projections on or off, in a new SQLite file (synchronous = FULL, as the receiver). */
async function round(withProjections: boolean, events: DraftEvent[]): Promise<{ usPerEvent: number; rows: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'unicop-bench-desired-'));
  const db = openReceiverDatabase(dir);
  try {
    const store = new OutboxStore(db);
    const desired = new DesiredProjection({ store: new DesiredStore(db), outbox: store, source: 'netbox://bench', log: createLogger('silent') });
    let rows = 0;
    const groupCommit = new GroupCommit({
      store,
      sequence: sequenceEvent,
      onCommit: (n) => (rows += n),
      maxValueBytes: 1 << 22,
      projections: withProjections ? [(e, now) => desired.project(e, now)] : [],
    });
    const start = process.hrtime.bigint();
    for (let i = 0; i < events.length; i += BATCH) await Promise.all(events.slice(i, i + BATCH).map((d) => groupCommit.appendEvent(d)));
    const us = Number(process.hrtime.bigint() - start) / 1000;
    return { usPerEvent: us / events.length, rows };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const events = drafts(0);
  const off: number[] = [];
  const on: number[] = [];
  let rowsOn = 0;
  for (let r = 0; r < RUNS; r++) {
    off.push((await round(false, events)).usPerEvent);
    const measured = await round(true, events);
    on.push(measured.usPerEvent);
    rowsOn = measured.rows;
  }
  const a = median(off);
  const b = median(on);
  console.log(
    `desired-state projections: ${EVENTS} interface updates over ${ROOTS} roots × ${MEMBERS} members, ${RUNS} interleaved rounds, batches of ${BATCH}`,
  );
  console.log(`  without projections  ${a.toFixed(1)} µs/event`);
  console.log(
    `  with projections     ${b.toFixed(1)} µs/event  (+${(b - a).toFixed(1)} µs, ×${(b / a).toFixed(2)}; ${(rowsOn / EVENTS).toFixed(2)} outbox rows/event)`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
