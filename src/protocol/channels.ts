/** Channel naming rules shared by the server, the client helper and tests (DESIGN §3). */
export const CHANNEL_PATTERN = /^[A-Za-z0-9_\-=@,.;:]{1,200}$/;

export function isValidChannel(name: unknown): name is string {
  return typeof name === "string" && CHANNEL_PATTERN.test(name);
}

/** Private and presence channels need a signed token naming them; public ones need none. */
export function needsToken(channel: string): boolean {
  return channel.startsWith("private-") || channel.startsWith("presence-");
}

/**
 * Socket.IO room for a channel. Prefixed because socket ids are rooms too: a channel named like
 * a socket id must not reach that socket.
 */
export function roomOf(channel: string): string {
  return `ch:${channel}`;
}
