/**
 * The handover's promise, checked over random histories: three cells read one root's partition at
 * their own pace (the events NetBox sends and the releases and adoptions the cells publish, in one
 * order), while attempts end or time out whenever they like. Whatever happens, at most one cell
 * holds the root — so at most one has an attempt in flight — and once everything was read and ended,
 * the owner of the last scope holds it and every other cell knows it is foreign.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import type { AwxNotification } from '../../../src/reconcile/awx-notification.js';
import { holds } from '../../../src/reconcile/ownership.js';
import { awxBody } from '../../helpers/awx-notifications.js';
import { AMER, APAC, EMEA, feed, idSource, movingEvent, openCell, ownerOf, requestEvent, type TestCell } from '../../helpers/handover-cells.js';

const ROOT = 'dcim.device:42';
const SCOPES = { emea: EMEA, amer: AMER, apac: APAC };
const CELLS = ['eu', 'us', 'ap'] as const;

type Step =
  | { kind: 'move'; to: keyof typeof SCOPES }
  | { kind: 'request' }
  | { kind: 'read'; cell: number; records: number }
  | { kind: 'tick'; cell: number; ms: number }
  | { kind: 'finish'; cell: number; ok: boolean }
  | { kind: 'restart'; cell: number };

const cell = fc.nat(CELLS.length - 1);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('move' as const), to: fc.constantFrom('emea' as const, 'amer' as const, 'apac' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('request' as const) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('read' as const), cell, records: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tick' as const), cell, ms: fc.constantFrom(50, 150, 11_000) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('finish' as const), cell, ok: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), cell }) },
);

/** Three cells on one partition: what NetBox and the cells append, and how far each cell read. */
class World {
  readonly clock = { now: Date.UTC(2026, 0, 1) };
  readonly cells: TestCell[];
  readonly log: string[] = [];
  private readonly read = [0, 0, 0];
  private readonly relayed = [0, 0, 0];
  private events = 0;
  private lastScope: keyof typeof SCOPES | null = null;

  constructor() {
    const nextId = idSource();
    this.cells = CELLS.map((name) => openCell(name, this.clock, nextId));
  }

  apply(step: Step): void {
    this.act(step);
    this.publish();
  }

  private act(step: Step): void {
    const c = 'cell' in step ? this.cells[step.cell]! : null;
    switch (step.kind) {
      case 'move':
        this.lastScope = step.to;
        return this.append(movingEvent(++this.events, ROOT, SCOPES[step.to]).toString('utf8'));
      case 'request':
        return this.append(requestEvent(++this.events, ROOT).toString('utf8'));
      case 'read':
        for (let i = 0; i < step.records; i++) this.readOne(step.cell);
        return;
      case 'tick':
        this.clock.now += step.ms;
        return c!.reconciler.tick();
      case 'finish': {
        const inFlight = c!.reconciler.record(ROOT)?.inFlight;
        if (inFlight) c!.reconciler.notify(awxBody(inFlight.reconcileId, step.ok ? 'successful' : 'failed') as unknown as AwxNotification);
        return;
      }
      case 'restart':
        return c!.restart();
    }
  }

  /** Holds the promise at this instant: one holder at most, so one attempt in flight at most. */
  check(history: string): void {
    const records = this.cells.map((c) => c.reconciler.record(ROOT));
    const holders = this.cells.filter((_, i) => records[i] && holds(records[i]!)).map((c) => c.name);
    const inFlight = this.cells.filter((_, i) => records[i]?.inFlight).map((c) => c.name);
    assert.ok(holders.length <= 1, `two holders ${holders.join(', ')} after ${history}`);
    assert.ok(inFlight.length <= 1, `two attempts in flight ${inFlight.join(', ')} after ${history}`);
  }

  /** Reads everything, ends every attempt and lets every clock run until nothing changes any more. */
  settle(): void {
    for (let round = 0; round < 50; round++) {
      const before = this.log.length;
      let busy = false;
      for (let i = 0; i < this.cells.length; i++) {
        while (this.read[i]! < this.log.length) this.readOne(i);
        this.clock.now += 200;
        this.cells[i]!.reconciler.tick();
        const inFlight = this.cells[i]!.reconciler.record(ROOT)?.inFlight;
        if (inFlight) {
          this.cells[i]!.reconciler.notify(awxBody(inFlight.reconcileId, 'successful') as unknown as AwxNotification);
          busy = true;
        }
        if (this.cells[i]!.reconciler.record(ROOT)?.state === 'pending') busy = true;
        this.publish();
      }
      if (!busy && this.log.length === before && this.read.every((n) => n === this.log.length)) return;
    }
    assert.fail('the cells did not come to rest');
  }

  /** The cell the last scope gives the root to (`"*"` → us when only requests named it). */
  finalOwner(): string | null {
    if (this.log.length === 0) return null;
    return this.lastScope ? ownerOf(SCOPES[this.lastScope]) : ownerOf(null);
  }

  close(): void {
    for (const c of this.cells) c.close();
  }

  private append(raw: string): void {
    this.log.push(raw);
  }

  private readOne(i: number): void {
    const raw = this.log[this.read[i]!];
    if (raw === undefined) return;
    this.read[i]! += 1;
    feed(this.cells[i]!, raw);
    this.publish();
  }

  /** What the cells queued for the events topic (releases, adoptions) lands at the end of the partition, in order. */
  private publish(): void {
    this.cells.forEach((c, i) => {
      for (const w of c.written.slice(this.relayed[i])) if (w.topic === 'events') this.append(w.raw);
      this.relayed[i] = c.written.length;
    });
  }
}

describe('ownership handover safety over random histories (three cells, real SQLite)', function () {
  this.timeout(120_000);

  it('never lets two cells hold a root, and always ends with the last scope’s owner holding it', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 40 }), (steps) => {
        const world = new World();
        try {
          const done: string[] = [];
          for (const step of steps) {
            // Cells publish only after they read: events come first, written by NetBox through the ingesting receiver.
            world.apply(step);
            done.push(JSON.stringify(step));
            world.check(done.join(' '));
          }
          world.settle();
          world.check('settling');
          const owner = world.finalOwner();
          if (owner === null) return;
          const parts = world.cells.map((c) => [c.name, c.reconciler.record(ROOT)?.ownership]);
          for (const [name, part] of parts) assert.equal(part, name === owner ? 'owned' : 'foreign', `${JSON.stringify(parts)} after ${done.join(' ')}`);
        } finally {
          world.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});
