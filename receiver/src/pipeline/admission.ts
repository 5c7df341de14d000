import { UnicopError, isUnicopError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DraftEvent } from '../model/event.js';
import type { IngestMetrics } from './ingest/ingest-metrics.js';
import type { Normalizer } from './normalize/normalize.js';
import type { WebhookValidator } from './validate/validate-webhook.js';
import type { Verifier } from './verify/verify-signature.js';

/** A NetBox source as the pipeline sees it: its CloudEvents `source` and its normalizer (keys, route). */
export interface PipelineSource {
  source: string;
  normalize: Normalizer;
}

/** What the webhook and the batch paths share: who signed, and how one webhook body becomes a draft event. */
export interface AdmissionDeps {
  /** By the index `verify` returns: the source whose secret signed the body. */
  sources: readonly PipelineSource[];
  verify: Verifier;
  validate: WebhookValidator;
  /** Whether an event id is already stored (a redelivery), whatever its age. */
  known: (eventId: string) => boolean;
  /** Bodies dated further back than this are refused unless already known (`UNICOP_REPLAY_WINDOW_S`). */
  replayWindowMs: number;
  metrics: Pick<IngestMetrics, 'rejected'>;
  log: Logger;
}

/** Constant log lines per kind of request (data goes in the object). */
const UNAUTHENTICATED = { webhook: 'unauthenticated webhook refused', batch: 'unauthenticated batch refused' } as const;

/**
 * The source whose secret signed `raw`. A request no source signed is only counted and logged (never
 * stored) and the verifier's 401 error is thrown.
 */
export function verifySource(deps: AdmissionDeps, raw: Buffer, signature: string | undefined, kind: keyof typeof UNAUTHENTICATED): PipelineSource {
  try {
    return deps.sources[deps.verify(raw, signature)]!;
  } catch (error) {
    const code = isUnicopError(error) ? error.code : 'UNICOP_HTTP_INTERNAL';
    deps.metrics.rejected.inc({ code, authenticated: 'false' });
    deps.log.child({ stage: 'pipeline' }).warn({ code, bytes: raw.length }, UNAUTHENTICATED[kind]);
    throw error;
  }
}

/**
 * validate → normalize → replay window for one webhook body, already parsed: the draft of its event,
 * or the `UnicopError` (4xx) that the body is kept as a reject for.
 */
export function admitBody(deps: AdmissionDeps, source: PipelineSource, parsed: unknown, bytes: number, now: number): DraftEvent {
  const webhook = deps.validate(parsed, bytes);
  const draft = source.normalize(webhook);
  refuseReplay(deps, webhook.body.timestamp, draft.envelope.id, now);
  return draft;
}

/**
 * NetBox signs only the body, so a captured body stays valid forever; its `timestamp` bounds how
 * long. Dated further than the window from now (older, or as far in the future) and never stored →
 * refused (and kept as a reject); a known event id is a redelivery and gets its duplicate answer.
 */
function refuseReplay(deps: AdmissionDeps, timestamp: string, eventId: string, now: number): void {
  const age = now - Date.parse(timestamp);
  if (!(Math.abs(age) > deps.replayWindowMs) || deps.known(eventId)) return;
  throw new UnicopError('UNICOP_VERIFY_REPLAY_WINDOW', `the body's timestamp is outside the replay window (${deps.replayWindowMs / 1000} s)`, {
    details: [{ pointer: '/timestamp', message: `${timestamp} is ${Math.round(age / 1000)} s old` }],
  });
}

/** Whether an error is the input's fault (4xx): such inputs, once authenticated, are kept as rejects. */
export function isInputError(error: unknown): error is UnicopError {
  return isUnicopError(error) && error.httpStatus >= 400 && error.httpStatus < 500;
}

export function stoppingError(): UnicopError {
  return new UnicopError('UNICOP_INGEST_STOPPING', 'the receiver is stopping');
}

export function outboxFull(route: string | undefined): UnicopError {
  return new UnicopError('UNICOP_OUTBOX_FULL', `the outbox of route ${route ?? 'default'} is over its limit; its Kafka is behind or away`);
}
