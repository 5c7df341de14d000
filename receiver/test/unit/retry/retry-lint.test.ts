import { strict as assert } from 'node:assert';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** The loop every module used to hand-roll before receiver/src/retry/ existed. */
const HAND_ROLLED = `
export async function connectUntilReady(connect: () => Promise<void>, stopped: () => boolean): Promise<void> {
  for (let delay = 200; !stopped(); delay = Math.min(delay * 2, 5000)) {
    try {
      await connect();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
`;

async function timingErrors(code: string, filePath: string): Promise<string[]> {
  const [result] = await new ESLint({ cwd: ROOT }).lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-syntax' && m.message.includes('retry timing')).map((m) => m.message);
}

describe('the retry-timing lint guard', function () {
  this.timeout(30_000);

  it('fails a hand-rolled backoff in a stage (the timer and the doubling)', async () => {
    const errors = await timingErrors(HAND_ROLLED, 'receiver/src/catchup/hand-rolled.ts');
    assert.equal(errors.length, 2, errors.join('\n'));
  });

  it('fails other spellings: setInterval, timers/promises, ** and *=', async () => {
    const code = `import { setTimeout as wait } from 'node:timers/promises';
export function f(d: number): number { setInterval(() => undefined, d); let x = d; x *= 2; void wait; return 2 ** x; }
`;
    assert.equal((await timingErrors(code, 'receiver/src/pipeline/publish/x.ts')).length, 4);
  });

  it('lets receiver/src/retry/ keep the timers', async () => {
    assert.deepEqual(await timingErrors(HAND_ROLLED, 'receiver/src/retry/hand-rolled.ts'), []);
  });
});
