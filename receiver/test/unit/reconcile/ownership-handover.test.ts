import { strict as assert } from 'node:assert';
import type { AwxNotification } from '../../../src/reconcile/awx-notification.js';
import { awxBody } from '../../helpers/awx-notifications.js';
import {
  AMER,
  APAC,
  EMEA,
  RULE,
  commands,
  feed,
  handovers,
  idSource,
  movingEvent,
  openCell,
  requestEvent,
  type TestCell,
} from '../../helpers/handover-cells.js';
import { messageProblem } from '../../helpers/message-schemas.js';
import { releasedRecord } from '../../helpers/reconciler.js';

const ROOT = 'dcim.device:42';

describe('ownership and handover between cells (reconciler, real SQLite)', () => {
  const clock = { now: Date.UTC(2026, 0, 1) };
  const nextId = idSource();
  let cells: TestCell[] = [];
  const open = (name: string) => {
    const cell = openCell(name, clock, nextId);
    cells.push(cell);
    return cell;
  };
  afterEach(() => {
    for (const cell of cells) cell.close();
    cells = [];
  });

  const later = (ms: number) => (clock.now += ms);
  const notify = (cell: TestCell, reconcileId: string, status: string) => cell.reconciler.notify(awxBody(reconcileId, status) as unknown as AwxNotification);
  const reconcileIdOf = (w: { value: { data: Record<string, unknown> } }) => w.value.data.reconcileId as string;
  const ownership = (cell: TestCell) => cell.reconciler.record(ROOT)?.ownership;

  /** eu reconciles ROOT (in emea): one command in flight. */
  function euInFlight(eu: TestCell): string {
    feed(eu, movingEvent(1, ROOT, EMEA));
    later(100);
    eu.reconciler.tick();
    const [command] = commands(eu);
    assert.ok(command, 'eu reconciles a root of emea');
    return reconcileIdOf(command);
  }

  it('owned → releasing: the attempt in flight ends, nothing new starts, then one release names the new owner → foreign', () => {
    const eu = open('eu');
    const reconcileId = euInFlight(eu);
    feed(eu, movingEvent(2, ROOT, AMER));
    assert.equal(ownership(eu), 'releasing');
    assert.equal(handovers(eu, 'unicop.root.released').length, 0, 'no release while the attempt is in flight');
    feed(eu, movingEvent(3, ROOT, AMER));
    later(1000);
    eu.reconciler.tick();
    assert.equal(commands(eu).length, 1, 'no follow-up starts while releasing');

    assert.equal(notify(eu, reconcileId, 'successful'), 'applied');
    const [released, ...more] = handovers(eu, 'unicop.root.released');
    assert.ok(released && more.length === 0, 'exactly one release');
    assert.equal(messageProblem(released.raw), null, 'the release matches the envelope schema');
    assert.deepEqual(
      [released.key, released.route, released.value.sequence, released.value.data.from, released.value.data.to, released.value.data.eventId],
      [ROOT, 'amer', '00000000000000000002', 'eu', 'us', '10000000-0000-4000-8000-000000000002'],
      'keyed by the root, on its route now, with the moving event and its sequence',
    );
    assert.equal((released.value.data.lastOutcome as { result: string }).result, 'succeeded', 'it carries the attempt’s outcome');
    assert.equal((released.value as unknown as { source: string }).source, 'unicop://eu');
    assert.deepEqual([ownership(eu), eu.reconciler.record(ROOT)?.owner, eu.counts.released, eu.counts.dropped], ['foreign', 'us', 1, 2]);
    const outcomeAt = eu.written.findIndex((w) => w.topic === 'reconcileOutcomes');
    assert.ok(outcomeAt >= 0 && outcomeAt < eu.written.indexOf(released), 'the outcome is written before the release');

    const rows = eu.written.length;
    feed(eu, movingEvent(4, ROOT, AMER));
    later(1000);
    eu.reconciler.tick();
    feed(eu, requestEvent(5, ROOT));
    assert.equal(eu.written.length, rows, 'a foreign root gets no command, no state and no second release');
    assert.deepEqual(eu.counts.ignored, { foreign: 1 });
  });

  it('a deadline ends the attempt of a releasing root as timed_out, then releases it: never abandoned silently', () => {
    const eu = open('eu');
    euInFlight(eu);
    feed(eu, movingEvent(2, ROOT, AMER));
    later(10_000);
    eu.reconciler.tick();
    const outcome = eu.written.find((w) => w.topic === 'reconcileOutcomes');
    assert.equal(outcome?.value.data.result, 'timed_out');
    assert.equal((handovers(eu, 'unicop.root.released')[0]?.value.data.lastOutcome as { result: string }).result, 'timed_out');
  });

  it('never retries the attempt of a releasing root, whatever the retry budget left', () => {
    const eu = openCell('eu', clock, nextId, { ...RULE, retry: { transient: 2 } });
    cells.push(eu);
    const reconcileId = euInFlight(eu);
    feed(eu, movingEvent(2, ROOT, AMER));
    notify(eu, reconcileId, 'error'); // a transient failure: the budget would allow two more attempts
    assert.equal(commands(eu).length, 1, 'no retry once the root moved away');
    assert.equal((handovers(eu, 'unicop.root.released')[0]?.value.data.lastOutcome as { class: string }).class, 'transient');
  });

  it('releases at once a root with nothing in flight, dropping its debounce window visibly', () => {
    const eu = open('eu');
    feed(eu, movingEvent(1, ROOT, EMEA));
    feed(eu, movingEvent(2, ROOT, AMER));
    assert.deepEqual([ownership(eu), eu.reconciler.record(ROOT)?.state, eu.counts.dropped], ['foreign', 'idle', 1]);
    assert.equal(handovers(eu, 'unicop.root.released').length, 1);
    later(1000);
    eu.reconciler.tick();
    assert.equal(commands(eu).length, 0);
  });

  it('foreign → adopting → adopted: nothing starts until the release naming this cell is read, then one reconcile covers the waiting changes', () => {
    const eu = open('eu');
    const us = open('us');
    for (const cell of [eu, us]) feed(cell, movingEvent(1, ROOT, AMER));
    assert.deepEqual([ownership(eu), ownership(us)], ['foreign', 'owned'], 'first seen: owned by whoever the scope says, no release needed');
    assert.equal(eu.written.length, 0, 'a bystander publishes nothing, not even a state');
    later(100);
    us.reconciler.tick();
    const usAttempt = reconcileIdOf(commands(us)[0]!);

    for (const cell of [eu, us]) feed(cell, movingEvent(2, ROOT, EMEA));
    feed(eu, movingEvent(3, ROOT, EMEA));
    feed(eu, requestEvent(4, ROOT));
    assert.deepEqual([ownership(eu), ownership(us)], ['adopting', 'releasing']);
    later(1000);
    eu.reconciler.tick();
    assert.deepEqual([commands(eu).length, eu.counts.ignored], [0, { adopting: 1 }], 'adopting starts nothing, requests included');
    feed(eu, releasedRecord('20000000-0000-4000-8000-000000000001', ROOT, 'us', 'ap', '10000000-0000-4000-8000-000000000002'));
    assert.equal(ownership(eu), 'adopting', 'a release naming another cell is not this cell’s');

    notify(us, usAttempt, 'failed');
    const [released] = handovers(us, 'unicop.root.released');
    assert.ok(released);
    feed(eu, released.raw);
    const [adopted] = handovers(eu, 'unicop.root.adopted');
    assert.ok(adopted, 'eu adopts once it read us’s release');
    assert.equal(messageProblem(adopted.raw), null, 'the adoption matches the envelope schema');
    assert.deepEqual(
      [adopted.value.data.from, adopted.value.data.to, adopted.value.data.releasedId, adopted.value.data.eventId, adopted.value.sequence, adopted.route],
      ['us', 'eu', released.value.id, '10000000-0000-4000-8000-000000000002', '00000000000000000002', 'emea'],
    );
    assert.deepEqual([ownership(eu), eu.reconciler.record(ROOT)?.state, eu.counts.adopted], ['owned', 'pending', 1]);
    later(100);
    eu.reconciler.tick();
    const [command] = commands(eu);
    assert.deepEqual(command?.value.data.triggeringEventCount, 2, 'the changes seen while adopting, as one reconcile');
    feed(eu, released.raw);
    assert.equal(handovers(eu, 'unicop.root.adopted').length, 1, 'a redelivered release changes nothing');
  });

  it('a move back before the release: the releasing cell owns the root again and runs its follow-up; the adopting cell gives up', () => {
    const eu = open('eu');
    const us = open('us');
    const reconcileId = euInFlight(eu);
    feed(us, movingEvent(1, ROOT, EMEA));
    for (const cell of [eu, us]) feed(cell, movingEvent(2, ROOT, AMER));
    assert.deepEqual([ownership(eu), ownership(us)], ['releasing', 'adopting']);
    for (const cell of [eu, us]) feed(cell, movingEvent(3, ROOT, EMEA));
    assert.deepEqual([ownership(eu), ownership(us)], ['owned', 'foreign']);
    assert.equal(us.counts.dropped, 1, 'the change us held for its adoption is dropped, counted');
    notify(eu, reconcileId, 'successful');
    later(100);
    eu.reconciler.tick();
    assert.equal(handovers(eu, 'unicop.root.released').length, 0, 'nothing was handed over');
    assert.equal(commands(eu)[1]?.value.data.triggeringEventCount, 2, 'the changes of the move and of the move back run here');
    assert.equal(commands(us).length, 0);
  });

  it('a move back after the release: the release is passed back on to the owner, who adopts it', () => {
    const eu = open('eu');
    const us = open('us');
    const reconcileId = euInFlight(eu);
    feed(us, movingEvent(1, ROOT, EMEA));
    for (const cell of [eu, us]) feed(cell, movingEvent(2, ROOT, AMER));
    notify(eu, reconcileId, 'successful'); // eu releases to us before it reads the move back
    const [release] = handovers(eu, 'unicop.root.released');
    for (const cell of [eu, us]) feed(cell, movingEvent(3, ROOT, EMEA));
    assert.deepEqual([ownership(eu), ownership(us)], ['adopting', 'foreign']);
    for (const cell of [eu, us]) feed(cell, release!.raw);
    const [passed] = handovers(us, 'unicop.root.released');
    assert.deepEqual([passed?.value.data.from, passed?.value.data.to], ['us', 'eu'], 'us never held it; it passes the release on to eu');
    assert.equal(commands(us).length, 0);
    for (const cell of [eu, us]) feed(cell, passed!.raw);
    assert.deepEqual([ownership(eu), ownership(us), handovers(eu, 'unicop.root.adopted').length], ['owned', 'foreign', 1]);
  });

  it('a move on to a third cell: the release names the owner at its time, and only that cell adopts', () => {
    const [eu, us, ap] = [open('eu'), open('us'), open('ap')];
    const reconcileId = euInFlight(eu);
    for (const cell of [us, ap]) feed(cell, movingEvent(1, ROOT, EMEA));
    for (const cell of [eu, us, ap]) feed(cell, movingEvent(2, ROOT, AMER));
    for (const cell of [eu, us, ap]) feed(cell, movingEvent(3, ROOT, APAC));
    assert.deepEqual([ownership(eu), ownership(us), ownership(ap)], ['releasing', 'foreign', 'adopting']);
    notify(eu, reconcileId, 'successful');
    const [release] = handovers(eu, 'unicop.root.released');
    assert.equal(release?.value.data.to, 'ap');
    for (const cell of [us, ap]) feed(cell, release!.raw);
    assert.deepEqual([ownership(us), ownership(ap), handovers(us, 'unicop.root.released').length], ['foreign', 'owned', 0]);
  });

  it('keeps the part across a restart (a new reconciler over the same store), mid-release and mid-adoption', () => {
    const eu = open('eu');
    const us = open('us');
    const reconcileId = euInFlight(eu);
    feed(us, movingEvent(1, ROOT, EMEA));
    for (const cell of [eu, us]) feed(cell, movingEvent(2, ROOT, AMER));
    eu.restart();
    us.restart();
    assert.deepEqual([ownership(eu), ownership(us)], ['releasing', 'adopting']);
    later(1000);
    us.reconciler.tick();
    assert.equal(commands(us).length, 0, 'still adopting after the restart');
    notify(eu, reconcileId, 'successful');
    const [release] = handovers(eu, 'unicop.root.released');
    us.restart();
    feed(us, release!.raw);
    assert.deepEqual([ownership(eu), ownership(us), us.store.waiting()], ['foreign', 'owned', { releasing: 0, adopting: 0 }]);
  });

  it('counts the roots waiting for a handover in the store', () => {
    const eu = open('eu');
    euInFlight(eu);
    feed(eu, movingEvent(2, ROOT, AMER));
    feed(eu, movingEvent(3, 'dcim.device:43', AMER));
    feed(eu, movingEvent(4, 'dcim.device:43', EMEA));
    assert.deepEqual(eu.store.waiting(), { releasing: 1, adopting: 1 });
  });

  it('publishes the root’s state only while it holds the root, with its cell, owner, part and route', () => {
    const eu = open('eu');
    euInFlight(eu);
    feed(eu, movingEvent(2, ROOT, AMER));
    const states = () => eu.written.filter((w) => w.topic === 'rootsState').map((w) => w.value.data);
    const last = states().at(-1)!;
    assert.deepEqual([last.cell, last.owner, last.ownership, last.route], ['eu', 'us', 'releasing', 'amer']);
    const count = states().length;
    feed(eu, movingEvent(3, 'dcim.device:43', AMER));
    assert.equal(states().length, count, 'no state for a root another cell holds');
  });
});
