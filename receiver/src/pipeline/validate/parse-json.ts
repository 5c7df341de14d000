import { UnicopError } from '../../errors.js';

/** Deeper than any NetBox serializer nests; deeper input is an attack or a bug, not a change. */
export const MAX_JSON_DEPTH = 64;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Parses the verified bytes. Invalid UTF-8 is refused rather than silently replaced, and nesting is
 * bounded before parsing so no later stage recurses without limit.
 */
export function parseJson(raw: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch (cause) {
    throw new UnicopError('UNICOP_VALIDATE_MALFORMED_JSON', 'body is not valid UTF-8', { cause });
  }
  const depth = maxDepth(raw);
  if (depth > MAX_JSON_DEPTH) {
    throw new UnicopError('UNICOP_VALIDATE_TOO_DEEP', `JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new UnicopError('UNICOP_VALIDATE_MALFORMED_JSON', `body is not JSON: ${(cause as Error).message}`, { cause });
  }
}

/** Nesting depth of brackets outside strings, in one pass over the bytes (stops early when too deep). */
function maxDepth(raw: Buffer): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > deepest && (deepest = depth) > MAX_JSON_DEPTH) return deepest;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return deepest;
}
