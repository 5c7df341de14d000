import { strict as assert } from 'node:assert';
import { every } from '../../../src/retry/schedule.js';
import { sleep } from '../../../src/retry/pause.js';

describe('every', () => {
  it('runs rounds one after another, never overlapping, and stop waits for the round in progress', async () => {
    let active = 0;
    let overlapped = false;
    let rounds = 0;
    let finished = 0;
    const schedule = every({
      firstMs: 0,
      everyMs: 1,
      round: async () => {
        overlapped ||= ++active > 1;
        rounds++;
        await sleep(5);
        active--;
        finished++;
      },
    });
    while (rounds < 3) await sleep(1);
    await schedule.stop();
    const after = rounds;
    assert.equal(finished, rounds, 'stop resolved after the round in progress ended');
    await sleep(20);
    assert.equal(rounds, after, 'no round after stop');
    assert.equal(overlapped, false);
  });

  it('keeps going after a round that failed (a poll is retried by the next)', async () => {
    let rounds = 0;
    const schedule = every({
      firstMs: 0,
      everyMs: 1,
      round: () => {
        rounds++;
        throw new Error('poll failed');
      },
    });
    while (rounds < 3) await sleep(1);
    await schedule.stop();
  });
});
