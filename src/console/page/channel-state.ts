/** Reads the channel state API's answers (docs/publishing.md) into what the console shows. */

export interface ChannelRow {
  channel: string;
  subscribers: number;
}

export interface MemberRow {
  id: string;
  info: unknown;
}

type Entry = { channel?: unknown; name?: unknown; subscribers?: unknown; subscription_count?: unknown; subscriber_count?: unknown };

const count = (entry: Entry): number => Number(entry.subscribers ?? entry.subscription_count ?? entry.subscriber_count ?? 0);

/** `{channels: [{channel, subscribers}]}` or `{channels: {<name>: {subscribers}}}`, by name. */
export function channelRows(body: unknown): ChannelRow[] {
  const channels = (body as { channels?: unknown } | undefined)?.channels;
  const rows = Array.isArray(channels)
    ? (channels as Entry[]).map((entry) => ({ channel: String(entry.channel ?? entry.name ?? ""), subscribers: count(entry) }))
    : Object.entries((channels ?? {}) as Record<string, Entry>).map(([channel, entry]) => ({ channel, subscribers: count(entry) }));
  return rows.filter((row) => row.channel !== "").sort((a, b) => a.channel.localeCompare(b.channel));
}

/** `{members: [{id, info}]}`, by id. */
export function memberRows(body: unknown): MemberRow[] {
  const members = (body as { members?: unknown } | undefined)?.members;
  if (!Array.isArray(members)) return [];
  return (members as { id?: unknown; info?: unknown }[]).map((m) => ({ id: String(m.id ?? ""), info: m.info })).sort((a, b) => a.id.localeCompare(b.id));
}

/** What to tell the operator when the API answered `status` instead of data. */
export function unavailableText(status: number, what: string): string {
  if (status === 401 || status === 403) return `${what}: the API key was refused (${status})`;
  if (status === 404) return `${what}: this server has no channel state API`;
  return `${what}: the server answered ${status}`;
}
