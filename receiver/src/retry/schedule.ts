export interface Schedule {
  /** No round starts after this; resolves once a round in progress ended. */
  stop(): Promise<void>;
}

export interface EveryOptions {
  /** Between the end of a round and the start of the next. */
  everyMs: number;
  /** Before the first round; `everyMs` by default. */
  firstMs?: number;
  /** Let the process exit while only this timer is pending (retention, the store probe). */
  unref?: boolean;
  /** Must not throw: a polling loop logs and counts its own failures and retries at the next round. */
  round: () => unknown;
}

/**
 * A polling loop: runs `round` after `firstMs`, then `everyMs` after each round ended (rounds never
 * overlap), until stopped. The `interval` policies of `policies.ts` (catch-up, AWX poll) are these.
 */
export function every(options: EveryOptions): Schedule {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  const arm = (ms: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      running = Promise.resolve()
        .then(options.round)
        .then(
          () => arm(options.everyMs),
          () => arm(options.everyMs),
        );
    }, ms);
    if (options.unref) timer.unref();
  };
  arm(options.firstMs ?? options.everyMs);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
