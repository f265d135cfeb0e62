import { PusherError } from "./errors.js";

/**
 * Nesting depth of untrusted JSON, measured without recursion. Everything downstream of an input
 * recurses over it (JSON.stringify, v8's structured clone on the advanced-serialization IPC, Redis
 * encoding): a 4 KB body nested 2,000 deep overflowed the primary's stack and took the host down.
 * So depth is bounded at the edge by code that cannot itself overflow.
 */

const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The deepest nesting of `[` and `{` in JSON text, counting only brackets outside strings, or
 * stops and returns `limit + 1` as soon as the text goes deeper than `limit`. O(n), one pass; run
 * before JSON.parse so a deep document is never built. Malformed text is left to JSON.parse.
 */
export function textDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      depth--;
    }
  }
  return deepest;
}

/**
 * The deepest nesting of arrays and objects in an already parsed value (socket.io parses client
 * frames itself), or `limit + 1` as soon as it goes deeper than `limit`. Iterative, with an
 * explicit stack; a scalar has depth 0, `[]` and `{}` have depth 1.
 */
export function valueDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== "object" || item === null) continue;
    const here = depth + 1;
    if (here > deepest) {
      deepest = here;
      if (deepest > limit) return deepest;
    }
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (typeof child === "object" && child !== null) stack.push([child, here]);
    }
  }
  return deepest;
}

/** Answers for input nested deeper than `maxDepth`: a 400 that names the limit. */
export function tooDeep(what: string, maxDepth: number): PusherError {
  return new PusherError("payload_too_deep", `${what} nests deeper than ${maxDepth} levels of arrays and objects (limits.maxPayloadDepth)`);
}

/**
 * Parses untrusted JSON text whose payload may nest `maxDepth` deep inside `envelopeDepth` levels
 * of envelope (`{"data": ...}` is 1): the depth is checked on the text first, so JSON.parse and
 * everything after it only ever see a bounded document.
 */
export function parseBoundedJson(text: string, maxDepth: number, envelopeDepth: number, what = "body"): unknown {
  if (textDepth(text, maxDepth + envelopeDepth) > maxDepth + envelopeDepth) throw tooDeep(`${what}: data`, maxDepth);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new PusherError("invalid_request", `${what}: not valid JSON`);
  }
}
