import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The registry behind `GET /metrics`, with prom-client's process and Node.js metrics (`unicop_`
 * prefix). Each stage registers its own metrics on it (`create*Metrics(registry)` beside the stage);
 * `registerMetrics` in `receiver.ts` wires them, and `docs/metrics.md` is generated from that.
 */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'unicop_' });
  return registry;
}
