/**
 * Pre-signed NetBox 4.7 device updates whose scope names a region (the plugin's `context.unicop.scope`),
 * built from `deviceUpdate` of the test helpers: every body a new event (fresh request id, growing
 * `last_updated`), signed before a run so signing is not measured. A device keeps its region, so a
 * root always takes the same route.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { JsonObject } from '../../receiver/src/model/netbox-webhook.js';
import { signed } from '../../receiver/test/helpers/fixtures.js';
import { deviceUpdate } from '../../receiver/test/helpers/iam.js';

export interface RegionBody {
  raw: Buffer;
  signature: string;
  requestId: string;
  region: string;
}

type Template = ReturnType<typeof deviceUpdate> & { data: JsonObject; request: JsonObject };

const scopeOf = (region: string) => ({ site: `site-${region}`, region, regions: [region] });

/**
 * `deviceUpdate` re-reads the fixture files on every call (milliseconds each), too slow for tens of
 * thousands of bodies: one template, and `variant` makes the same edits (checked once against the helper).
 */
export class RegionBodies {
  private readonly template: Template;
  private n = 0;

  constructor(private readonly secret: string) {
    this.template = deviceUpdate(1, scopeOf('r00'), 0) as Template;
    const expected = deviceUpdate(7, scopeOf('emea'), 12345) as Template;
    const got = this.variant(7, 'emea', 12345, String(expected.request.id));
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(got)), JSON.parse(JSON.stringify(expected)))) {
      throw new Error('bench federation: the body variant no longer matches deviceUpdate() of the test helpers; update bodies.ts');
    }
  }

  private variant(deviceId: number, region: string, n: number, requestId: string): Template {
    const t = this.template;
    const lastUpdated = new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString().replace('Z', '000+00:00');
    const site = t.data.site as JsonObject;
    const scope = scopeOf(region);
    return {
      ...t,
      data: { ...t.data, id: deviceId, last_updated: lastUpdated, site: { ...site, display: scope.site, name: scope.site, slug: scope.site } },
      request: { ...t.request, id: requestId },
      context: { unicop: { scope: { tenant: null, site: scope.site, region, regions: scope.regions } } },
    };
  }

  /** A new signed update of device `deviceId`, in `region`. */
  next(deviceId: number, region: string): RegionBody {
    const requestId = randomUUID();
    const { raw, signature } = signed(this.variant(deviceId, region, ++this.n, requestId), this.secret);
    return { raw, signature, requestId, region };
  }
}
