import { Counter, Gauge, type Registry } from 'prom-client';
import type { CatchupMetrics } from './changelog-catchup.js';

export function createCatchupMetrics(registry: Registry): CatchupMetrics {
  const recovered = new Counter({
    name: 'unicop_catchup_recovered_total',
    help: 'Events made from the NetBox changelog because their webhook never arrived.',
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'unicop_catchup_rejected_total',
    help: 'Changelog rows that cannot become events (too large, unusable, object fetch failed too often): kept as rejects and passed.',
    registers: [registry],
  });
  const lag = new Gauge({
    name: 'unicop_catchup_lag_seconds',
    help: 'Age of the oldest changelog row the catch-up has not handled yet (0 when caught up).',
    registers: [registry],
  });
  const errors = new Counter({
    name: 'unicop_catchup_errors_total',
    help: 'Failed changelog polls (NetBox unreachable, bad answer); the next interval tries again.',
    registers: [registry],
  });
  const mark = new Gauge({
    name: 'unicop_catchup_high_water_mark',
    help: 'Highest changelog id below which every row is handled.',
    registers: [registry],
  });
  return {
    recovered: (n) => recovered.inc(n),
    rejected: (n) => rejected.inc(n),
    lag: (seconds) => lag.set(seconds),
    failed: () => errors.inc(),
    highWaterMark: (id) => mark.set(id),
  };
}
