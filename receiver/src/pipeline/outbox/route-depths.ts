import type { RouteSpec } from '../../federation/federation.js';

/**
 * Unpublished rows per route: counted up as rows are queued (OutboxStore.onRow), down as a route's
 * Kafka acknowledges them, and set again from the store every second (other receivers of a shared
 * store queue and publish too; a rolled-back row is corrected there). A route at its limit answers
 * its webhooks 503; the others are not affected.
 */
export class RouteDepths {
  private readonly depths = new Map<string, number>();

  constructor(
    private readonly routes: readonly RouteSpec[],
    private readonly metrics: { depth(route: string, n: number): void; limit(route: string, n: number): void },
  ) {
    for (const r of routes) {
      this.depths.set(r.name, 0);
      metrics.limit(r.name, r.outboxLimit);
    }
  }

  add(route: string, rows: number): void {
    this.set(route, (this.depths.get(route) ?? 0) + rows);
  }

  /** Counts from the store (routes absent hold nothing). */
  reset(counts: ReadonlyMap<string, number>): void {
    for (const r of this.routes) this.set(r.name, counts.get(r.name) ?? 0);
  }

  of(route: string): number {
    return this.depths.get(route) ?? 0;
  }

  get total(): number {
    let sum = 0;
    for (const n of this.depths.values()) sum += n;
    return sum;
  }

  /** Whether `route` holds as many rows as it may, counting `queued` rows not yet committed. */
  full(route: string, queued: number): boolean {
    const spec = this.routes.find((r) => r.name === route);
    return spec !== undefined && this.of(route) + queued >= spec.outboxLimit;
  }

  private set(route: string, n: number): void {
    const value = Math.max(0, n);
    this.depths.set(route, value);
    this.metrics.depth(route, value);
  }
}
