/**
 * Pre-signed NetBox 4.7 interface-update webhooks for the load runs: real fixture bodies
 * (`interfaceUpdate` of the test helpers), spread over `ROOTS` devices, every body a new event
 * (fresh request id, growing `last_updated`), signed before a run starts so signing is not measured.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { FIXTURE_REPLAY_ENV, interfaceUpdate, signed, TEST_SECRET } from '../../receiver/test/helpers/fixtures.js';
import type { JsonObject } from '../../receiver/src/model/netbox-webhook.js';

export const ROOTS = 1000;
/** Interfaces per device: events of one root touch a few objects, like a real edit session. */
const INTERFACES_PER_ROOT = 4;
export const SECRET = TEST_SECRET;
/** The bodies keep the fixture's capture timestamp: receivers sent them widen their replay window. */
export const REPLAY_ENV = FIXTURE_REPLAY_ENV;

export interface SignedBody {
  raw: Buffer;
  signature: string;
  requestId: string;
  root: string;
}

type Template = ReturnType<typeof interfaceUpdate> & { data: JsonObject & { device: JsonObject }; request: JsonObject };

/**
 * `interfaceUpdate` re-reads every fixture file on each call (≈4.5 ms), too slow for tens of
 * thousands of bodies; so it builds one template and `variant` applies the same edits it makes
 * (device id, interface id, `last_updated` and description from `n`, a fresh request id).
 * `checkVariant` proves at start-up that both agree, so the bodies stay the helper's bodies.
 */
export class Payloads {
  private readonly template: Template;
  private n = 0;

  /** `roots`: how many devices the bodies are spread over (ROOTS unless a run wants fewer). */
  constructor(private readonly roots = ROOTS) {
    this.template = interfaceUpdate(1, 1, 0) as Template;
    this.checkVariant();
  }

  private variant(deviceId: number, interfaceId: number, n: number, requestId: string): Template {
    // the same edits as interfaceUpdate() in receiver/test/helpers/fixtures.ts
    const t = this.template;
    const lastUpdated = new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString().replace('Z', '000+00:00');
    return {
      ...t,
      data: { ...t.data, id: interfaceId, last_updated: lastUpdated, description: `v${n}`, device: { ...t.data.device, id: deviceId } },
      request: { ...t.request, id: requestId },
    };
  }

  private checkVariant(): void {
    const expected = interfaceUpdate(7, 71, 12345) as Template;
    const got = this.variant(7, 71, 12345, String(expected.request.id));
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(got)), JSON.parse(JSON.stringify(expected)))) {
      throw new Error('scripts/bench: payload variant no longer matches interfaceUpdate() of the test helpers; update payloads.ts');
    }
  }

  /** The next body: round-robin over the roots (or about device `device`), each call a new event. */
  next(device?: number): SignedBody {
    const i = this.n++;
    device ??= (i % this.roots) + 1;
    const iface = device * 100 + (Math.floor(i / this.roots) % INTERFACES_PER_ROOT);
    const requestId = randomUUID();
    // n grows with i, so every object's version only moves forward (nothing is superseded)
    const body = this.variant(device, iface, i + 1, requestId);
    const { raw, signature } = signed(body, SECRET);
    return { raw, signature, requestId, root: `dcim.device:${device}` };
  }

  /** `count` bodies signed now (before a run). */
  take(count: number): SignedBody[] {
    const out: SignedBody[] = new Array<SignedBody>(count);
    for (let i = 0; i < count; i++) out[i] = this.next();
    return out;
  }
}

/** A fixed pool handed out in order; past its end, bodies are made on the fly (and counted). */
export class Pool {
  private i = 0;
  /** Bodies that had to be signed during the run because the pool ran out. */
  late = 0;

  constructor(
    private readonly bodies: SignedBody[],
    private readonly more: Payloads | null,
  ) {}

  next(): SignedBody {
    const b = this.bodies[this.i++];
    if (b) return b;
    if (!this.more) {
      // a cyclic pool (the bare-express ceiling does not care about duplicates)
      this.i = 1;
      return this.bodies[0] as SignedBody;
    }
    this.late++;
    return this.more.next();
  }

  get used(): number {
    return this.i;
  }
}
