import { randomUUID } from 'node:crypto';
import type { JsonObject } from '../../src/model/netbox-webhook.js';
import { interfaceUpdate } from './fixtures.js';

export interface TestBatch {
  request_id: string;
  events: unknown[];
}

/**
 * The events of one NetBox request as the plugin batches them: `count` interface updates on device
 * `deviceId` (interfaces `deviceId * 100 + 1`…, version `n`), every item carrying the request's id.
 */
export function requestBatch(deviceId: number, count: number, options: { requestId?: string; n?: number } = {}): TestBatch {
  const requestId = options.requestId ?? randomUUID();
  const events = Array.from({ length: count }, (_, i) => inRequest(interfaceUpdate(deviceId, deviceId * 100 + 1 + i, options.n ?? 1), requestId));
  return { request_id: requestId, events };
}

/** A webhook body moved into the request `requestId` (its `request.id`). */
export function inRequest(body: JsonObject, requestId: string): JsonObject {
  return { ...body, request: { ...(body.request as JsonObject | undefined), id: requestId } };
}
