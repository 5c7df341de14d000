/**
 * Calls `onLate` once when `ms` pass before `cancel()`: a request still running that long is
 * reported while it runs (the relay's stalled batch), not only when it finally fails.
 */
export function lateAfter(ms: number, onLate: () => void): { cancel(): void } {
  const timer = setTimeout(onLate, ms);
  timer.unref();
  return { cancel: () => clearTimeout(timer) };
}
