import { Counter, Gauge, type Registry } from 'prom-client';
import type { CatchupMetrics } from './changelog-catchup.js';

/** The changelog catch-up's metrics, one series per NetBox source (`default` without a federation file). */
export function createCatchupMetrics(registry: Registry): (source: string) => CatchupMetrics {
  const recovered = new Counter({
    name: 'unicop_catchup_recovered_total',
    help: 'Events made from the NetBox changelog because their webhook never arrived.',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'unicop_catchup_rejected_total',
    help: 'Changelog rows that cannot become events (too large, unusable, object fetch failed too often): kept as rejects and passed.',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const lag = new Gauge({
    name: 'unicop_catchup_lag_seconds',
    help: 'Age of the oldest changelog row the catch-up has not handled yet (0 when caught up).',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'unicop_catchup_errors_total',
    help: 'Failed changelog polls (NetBox unreachable, bad answer); the next interval tries again.',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const mark = new Gauge({
    name: 'unicop_catchup_high_water_mark',
    help: 'Highest changelog id below which every row is handled.',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const requests = new Counter({
    name: 'unicop_catchup_netbox_requests_total',
    help: 'HTTP requests the changelog catch-up made to NetBox (at most UNICOP_CATCHUP_RATE per second): a page of row keys per 1000 rows scanned, then per chunk of rows to recover their whole rows and their objects by id, a few hundred ids per request.',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  return (source) => ({
    recovered: (n) => recovered.inc({ source }, n),
    rejected: (n) => rejected.inc({ source }, n),
    lag: (seconds) => lag.set({ source }, seconds),
    failed: () => errors.inc({ source }),
    highWaterMark: (id) => mark.set({ source }, id),
    requested: (n) => {
      if (n > 0) requests.inc({ source }, n);
    },
  });
}
