const NEWLINE = 0x0a;
// engine.io's session ids (base64id): 20 URL-safe characters.
const SID = /[?&]sid=([\w-]{20})(?:[&\s#]|$)/;

/** The bytes read so far hold the whole request line (what routing needs), or are too many to wait for more. */
export function routable(head: Buffer, maxBytes: number): boolean {
  return head.includes(NEWLINE) || head.length >= maxBytes;
}

/** The Engine.IO session id named in the request line's query, if any. */
export function sessionIdOf(head: Buffer): string | undefined {
  const end = head.indexOf(NEWLINE);
  const requestLine = head.subarray(0, end < 0 ? head.length : end).toString("latin1");
  return SID.exec(requestLine)?.[1];
}
