/**
 * The error catalogue. Every error UNICOP throws is an `UnicopError` whose code is listed here;
 * `docs/errors.md` documents each code and a test keeps the two in sync.
 * `retriable` alone tells a caller whether the same input may succeed later (kafkajs' habit).
 */
export const ERROR_CODES = {
  UNICOP_CONFIG_INVALID: { httpStatus: 500, retriable: false },
  UNICOP_POLICY_INVALID: { httpStatus: 500, retriable: false },
  UNICOP_FEDERATION_INVALID: { httpStatus: 500, retriable: false },
  UNICOP_TLS_FILE_UNREADABLE: { httpStatus: 500, retriable: false },
  UNICOP_TLS_CERT_INVALID: { httpStatus: 500, retriable: false },
  UNICOP_TLS_KEY_INVALID: { httpStatus: 500, retriable: false },
  UNICOP_TLS_KEY_MISMATCH: { httpStatus: 500, retriable: false },
  UNICOP_INGEST_UNSUPPORTED_MEDIA_TYPE: { httpStatus: 415, retriable: false },
  UNICOP_INGEST_BODY_TOO_LARGE: { httpStatus: 413, retriable: false },
  UNICOP_INGEST_BODY_UNREADABLE: { httpStatus: 400, retriable: false },
  UNICOP_INGEST_STOPPING: { httpStatus: 503, retriable: true },
  UNICOP_VERIFY_SIGNATURE_MISSING: { httpStatus: 401, retriable: false },
  UNICOP_VERIFY_SIGNATURE_MALFORMED: { httpStatus: 401, retriable: false },
  UNICOP_VERIFY_SIGNATURE_MISMATCH: { httpStatus: 401, retriable: false },
  UNICOP_VERIFY_REPLAY_WINDOW: { httpStatus: 400, retriable: false },
  UNICOP_VALIDATE_MALFORMED_JSON: { httpStatus: 400, retriable: false },
  UNICOP_VALIDATE_TOO_DEEP: { httpStatus: 400, retriable: false },
  UNICOP_VALIDATE_SCHEMA: { httpStatus: 400, retriable: false },
  UNICOP_NORMALIZE_EVENT_TOO_LARGE: { httpStatus: 413, retriable: false },
  UNICOP_OUTBOX_FULL: { httpStatus: 503, retriable: true },
  UNICOP_OUTBOX_WRITE_FAILED: { httpStatus: 503, retriable: true },
  UNICOP_PUBLISH_BROKER_UNAVAILABLE: { httpStatus: 503, retriable: true },
  UNICOP_PUBLISH_PRODUCER_FENCED: { httpStatus: 503, retriable: true },
  UNICOP_PUBLISH_LANE_FENCED: { httpStatus: 503, retriable: true },
  UNICOP_PUBLISH_MESSAGE_TOO_LARGE: { httpStatus: 503, retriable: true },
  UNICOP_PUBLISH_CURSOR_WRITE_FAILED: { httpStatus: 503, retriable: true },
  UNICOP_PUBLISH_CONSUMER_START_FAILED: { httpStatus: 503, retriable: true },
  UNICOP_PUBLISH_CONSUMER_CRASHED: { httpStatus: 503, retriable: true },
  UNICOP_PUBLISH_RELAY_THREAD_FAILED: { httpStatus: 503, retriable: true },
  UNICOP_PUBLISH_KAFKA_AUTHENTICATION_FAILED: { httpStatus: 503, retriable: true },
  UNICOP_PUBLISH_KAFKA_TLS_FAILED: { httpStatus: 503, retriable: true },
  UNICOP_API_DISABLED: { httpStatus: 403, retriable: false },
  UNICOP_API_TOKEN_MISSING: { httpStatus: 401, retriable: false },
  UNICOP_API_TOKEN_INVALID: { httpStatus: 401, retriable: false },
  UNICOP_API_TOKEN_EXPIRED: { httpStatus: 401, retriable: false },
  UNICOP_API_TOKEN_NOT_YET_VALID: { httpStatus: 401, retriable: false },
  UNICOP_API_TOKEN_ISSUER: { httpStatus: 401, retriable: false },
  UNICOP_API_TOKEN_AUDIENCE: { httpStatus: 401, retriable: false },
  UNICOP_API_TOKEN_ALGORITHM: { httpStatus: 401, retriable: false },
  UNICOP_API_TOKEN_KEY_UNKNOWN: { httpStatus: 401, retriable: false },
  UNICOP_API_OIDC_UNAVAILABLE: { httpStatus: 503, retriable: true },
  UNICOP_API_FORBIDDEN: { httpStatus: 403, retriable: false },
  UNICOP_API_ROOT_INVALID: { httpStatus: 400, retriable: false },
  UNICOP_API_ROOT_NOT_FOUND: { httpStatus: 404, retriable: false },
  UNICOP_API_QUERY_INVALID: { httpStatus: 400, retriable: false },
  UNICOP_API_BODY_INVALID: { httpStatus: 400, retriable: false },
  UNICOP_API_ON_BEHALF_OF_INVALID: { httpStatus: 400, retriable: false },
  UNICOP_AWX_DISABLED: { httpStatus: 403, retriable: false },
  UNICOP_AWX_UNAUTHENTICATED: { httpStatus: 401, retriable: false },
  UNICOP_AWX_BODY_INVALID: { httpStatus: 400, retriable: false },
  UNICOP_RECONCILE_DISABLED: { httpStatus: 404, retriable: false },
  UNICOP_RECONCILE_REBUILDING: { httpStatus: 503, retriable: true },
  UNICOP_RECONCILE_RECORD_INVALID: { httpStatus: 400, retriable: false },
  UNICOP_RECONCILE_STATE_UNREADABLE: { httpStatus: 503, retriable: true },
  UNICOP_CATCHUP_ROW_UNUSABLE: { httpStatus: 422, retriable: false },
  UNICOP_ACCESS_GRANT_REFUSED: { httpStatus: 422, retriable: false },
  UNICOP_SNAPSHOT_DISABLED: { httpStatus: 404, retriable: false },
  UNICOP_SNAPSHOT_RUNNING: { httpStatus: 409, retriable: true },
  UNICOP_SNAPSHOT_NOT_FOUND: { httpStatus: 404, retriable: false },
  UNICOP_SNAPSHOT_FAILED: { httpStatus: 502, retriable: true },
  UNICOP_SNAPSHOT_SPINE_UNREADABLE: { httpStatus: 503, retriable: true },
  UNICOP_STORE_UNAVAILABLE: { httpStatus: 503, retriable: true },
  UNICOP_STORE_SOURCE_UNREADABLE: { httpStatus: 500, retriable: false },
  UNICOP_STORE_SOURCE_IN_USE: { httpStatus: 409, retriable: true },
  UNICOP_STORE_SOURCE_NOT_CURRENT: { httpStatus: 409, retriable: false },
  UNICOP_STORE_TARGET_NOT_EMPTY: { httpStatus: 409, retriable: false },
  UNICOP_CLIENT_REQUEST_FAILED: { httpStatus: 502, retriable: true },
  UNICOP_HTTP_NOT_FOUND: { httpStatus: 404, retriable: false },
  UNICOP_HTTP_INTERNAL: { httpStatus: 500, retriable: false },
} as const satisfies Record<string, { httpStatus: number; retriable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One entry of `error.details`: where in the input and what is wrong there. */
export interface ErrorDetail {
  pointer?: string;
  message: string;
}

export class UnicopError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly retriable: boolean;
  readonly details: readonly ErrorDetail[];

  constructor(code: ErrorCode, message: string, options: { details?: ErrorDetail[]; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'UnicopError';
    this.code = code;
    this.httpStatus = ERROR_CODES[code].httpStatus;
    this.retriable = ERROR_CODES[code].retriable;
    this.details = Object.freeze([...(options.details ?? [])]);
  }

  /** The wire form every error response uses (`schemas/error.schema.json`). */
  toBody(): { error: { code: ErrorCode; message: string; details: ErrorDetail[] } } {
    return { error: { code: this.code, message: this.message, details: [...this.details] } };
  }
}

export function isUnicopError(value: unknown): value is UnicopError {
  return value instanceof UnicopError;
}
