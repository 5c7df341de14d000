import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { UnicopError } from '../../errors.js';

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Reads the raw body bytes (the signature covers the exact bytes, so nothing may parse first),
 * refusing non-JSON media types (415) and bodies over `limit` (413) before any byte is buffered
 * beyond the limit. Compressed bodies are refused: NetBox never compresses and the signature is
 * over what was sent.
 */
export function readBody(limit: number): RequestHandler[] {
  const checkType: RequestHandler = (req, _res, next) => {
    const type = req.headers['content-type'];
    if (type === undefined || !JSON_MEDIA_TYPE.test(type)) {
      next(new UnicopError('UNICOP_INGEST_UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json'));
      return;
    }
    next();
  };
  const raw = express.raw({ type: () => true, limit, inflate: false });
  const mapErrors = (err: unknown, _req: Request, _res: Response, next: NextFunction): void => {
    next(translate(err));
  };
  return [checkType, raw, mapErrors as unknown as RequestHandler];
}

/** body-parser errors carry a `type`; each becomes one catalogue code. */
function translate(err: unknown): unknown {
  const type = (err as { type?: string } | null)?.type;
  switch (type) {
    case 'entity.too.large':
      return new UnicopError('UNICOP_INGEST_BODY_TOO_LARGE', 'body is over the size limit', { cause: err });
    case 'encoding.unsupported':
      return new UnicopError('UNICOP_INGEST_UNSUPPORTED_MEDIA_TYPE', 'compressed or non-UTF-8 bodies are not accepted', { cause: err });
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
    case 'stream.not.readable':
      return new UnicopError('UNICOP_INGEST_BODY_UNREADABLE', 'the body could not be read completely', { cause: err });
    default:
      return err;
  }
}

/** Raw bytes of a request read by `readBody` (an empty buffer when there was no body). */
export function rawBodyOf(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}
