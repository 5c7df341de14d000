import { strict as assert } from 'node:assert';
import type { ReconcileRule } from '../../../src/reconcile/reconcile-policy.js';
import { restingRecord, step, type Effect, type Input, type RootRecord } from '../../../src/reconcile/state-machine.js';

const rule: ReconcileRule = {
  match: { rootType: 'dcim.device' },
  jobTemplate: { name: 'reconcile-device', organization: 'Default' },
  debounceMs: 1000,
  deadlineMs: 60_000,
  retry: {},
};

/** Runs inputs through the machine, collecting effects; ids are r1, r2, … */
function run(inputs: Input[], start: RootRecord = restingRecord('dcim.device:1'), r = rule) {
  let n = 0;
  let record = start;
  const effects: Effect[] = [];
  for (const input of inputs) {
    const s = step(record, input.kind === 'change' ? { ...input, rule: r } : input, () => `r${++n}`);
    record = s.record;
    effects.push(...s.effects);
  }
  return { record, effects, commands: effects.filter((e) => e.kind === 'command').map((e) => (e.kind === 'command' ? e.command : null)!) };
}
const change = (eventId: string, now: number): Input => ({ kind: 'change', eventId, rule, now });
const tick = (now: number): Input => ({ kind: 'tick', now });
const done = (id: string, now: number, result: 'succeeded' | 'failed' = 'succeeded', cls: 'execution' | 'transient' | null = null): Input => ({
  kind: 'finished',
  reconcileId: id,
  result,
  class: cls,
  message: null,
  awxJobId: 7,
  now,
});

describe('reconcile state machine', () => {
  it('debounces changes into one command, then runs to succeeded', () => {
    const { record, commands } = run([
      change('e1', 0),
      change('e2', 500),
      tick(999),
      tick(1000),
      { kind: 'started', reconcileId: 'r1', awxJobId: 7, now: 1100 },
      done('r1', 2000),
    ]);
    assert.equal(commands.length, 1);
    assert.deepEqual(commands[0]?.triggeringEvents, ['e1', 'e2']);
    assert.equal(commands[0]?.attempt, 1);
    assert.equal(record.state, 'succeeded');
    assert.equal(record.lastOutcome?.result, 'succeeded');
    assert.equal(record.inFlight, null);
  });

  it('coalesces 50 changes during flight into exactly one follow-up', () => {
    const during = Array.from({ length: 50 }, (_, i) => change(`x${i}`, 1500 + i));
    const { record, commands } = run([change('e1', 0), tick(1000), ...during, done('r1', 3000), tick(3999), tick(4000)]);
    assert.equal(commands.length, 2);
    assert.equal(commands[1]?.triggeringEvents.length, 50);
    assert.equal(record.state, 'requested');
  });

  it('never retries a failure by default', () => {
    const { record, commands, effects } = run([change('e1', 0), tick(1000), done('r1', 2000, 'failed', 'execution'), tick(100_000)]);
    assert.equal(commands.length, 1);
    assert.equal(record.state, 'failed');
    assert.equal(record.lastOutcome?.class, 'execution');
    assert.equal(effects.filter((e) => e.kind === 'outcome').length, 1);
  });

  it('retries within the budget for the class, each a new command, and ends in an explicit outcome', () => {
    const withRetry = { ...rule, retry: { transient: 2 } };
    const { record, commands, effects } = run(
      [
        change('e1', 0),
        tick(1000),
        done('r1', 2000, 'failed', 'transient'),
        done('r2', 3000, 'failed', 'transient'),
        done('r3', 4000, 'failed', 'transient'),
        done('r4', 5000, 'failed', 'transient'),
      ],
      restingRecord('dcim.device:1'),
      withRetry,
    );
    assert.deepEqual(
      commands.map((c) => [c.reconcileId, c.attempt]),
      [
        ['r1', 1],
        ['r2', 2],
        ['r3', 3],
      ],
    );
    assert.equal(record.state, 'failed');
    assert.equal(effects.filter((e) => e.kind === 'outcome').length, 3);
  });

  it('turns silence past the deadline into timed_out', () => {
    const { record } = run([change('e1', 0), tick(1000), tick(60_999), tick(61_000)]);
    assert.equal(record.state, 'timed_out');
    assert.equal(record.lastOutcome?.class, 'timeout');
  });

  it('ignores outcomes for an id not in flight (late, duplicated or unknown)', () => {
    let n = 0;
    const s = step(restingRecord('dcim.device:1'), done('nope', 10), () => `r${++n}`);
    assert.equal(s.applied, false);
    assert.deepEqual(s.effects, []);
    const after = run([change('e1', 0), tick(1000), done('r1', 2000)]);
    const again = step(after.record, done('r1', 3000, 'failed', 'execution'), () => 'x');
    assert.equal(again.applied, false, 'a second notification for a finished attempt changes nothing');
  });
});

describe('reconcile state machine: desired versions', () => {
  const V1 = `sha256:${'1'.repeat(64)}`;
  const V2 = `sha256:${'2'.repeat(64)}`;

  it('gives a command the root’s current desiredVersion and records it as applied only when the attempt succeeds', () => {
    let record = restingRecord('dcim.device:1');
    const go = (input: Input, version: string | null) => {
      const s = step(record, input, () => `r${input.now}`, version);
      record = s.record;
      return s.effects;
    };
    go(change('e1', 0), V1);
    const [launched] = go(tick(1000), V1);
    assert.equal(launched?.kind === 'command' && launched.command.desiredVersion, V1);
    // The projection moved on meanwhile: the attempt still applied what its command carried.
    const [outcome] = go(done('r1000', 2000), V2);
    assert.equal(outcome?.kind === 'outcome' && outcome.outcome.appliedVersion, V1);
    assert.equal(record.appliedVersion, V1);

    go(change('e2', 3000), V2);
    go(tick(4000), V2);
    const [failed] = go(done('r4000', 5000, 'failed', 'execution'), V2);
    assert.equal(failed?.kind === 'outcome' && failed.outcome.appliedVersion, null);
    assert.equal(record.appliedVersion, V1, 'a failure keeps the last applied version');
  });
});
