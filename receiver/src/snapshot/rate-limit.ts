import { sleep } from '../retry/pause.js';

/**
 * At most `perSecond` starts per second, evenly spaced (a snapshot must not load NetBox like a
 * burst of users): each `take()` resolves at the earliest `1/perSecond` s after the previous one.
 */
export function rateLimit(perSecond: number, now: () => number = Date.now): () => Promise<void> {
  const gapMs = 1000 / perSecond;
  let next = 0;
  return async () => {
    const at = Math.max(now(), next);
    next = at + gapMs;
    const wait = at - now();
    if (wait > 0) await sleep(wait);
  };
}
