import type { Message } from "../../protocol/messages.js";

/** A fan-out entry as XREAD returns it: the ID and the flat field list. */
export type StreamEntry = [id: string, fields: string[]];

export type FanoutEntry = { kind: "message"; message: Message } | { kind: "probe"; nonce: string } | { kind: "signal"; json: string };

/**
 * Decodes a fan-out entry. The publish script writes fields in a fixed order
 * (c, v, d, e, o, t, i), the probe writes (k, nonce) and channel state signals (x, JSON;
 * src/state/), so positions are enough. Entries written before message ids existed end at t.
 */
export function decodeFanoutEntry([, fields]: StreamEntry): FanoutEntry | undefined {
  if (fields[0] === "k") return { kind: "probe", nonce: fields[1] ?? "" };
  if (fields[0] === "x") return { kind: "signal", json: fields[1] ?? "" };
  if (fields[0] !== "c" || fields.length < 12) return undefined;
  return {
    kind: "message",
    message: {
      channel: fields[1]!,
      event: fields[3]!,
      data: JSON.parse(fields[5]!),
      epoch: fields[7]!,
      offset: Number(fields[9]),
      ts: Number(fields[11]),
      ...messageId(fields, 12),
    },
  };
}

/** Probes and signals are short; a longer one is told apart by its first characters. */
const PRINT_CHARS = 256;

/**
 * What tells two fan-out entries apart, without keeping a message's data: its channel, position
 * and the time the master wrote it. Two masters can write different entries under one ID.
 */
export function entryPrint(fields: string[]): string {
  if (fields[0] === "c" && fields.length >= 12) return `${fields[1]}\u0000${fields[7]}\u0000${fields[9]}\u0000${fields[11]}`;
  return fields.join("\u0000").slice(0, PRINT_CHARS);
}

/** Decodes a channel history entry (ID "<offset>-0", fields v, d, t, i). */
export function decodeHistoryEntry(channel: string, epoch: string, [id, fields]: StreamEntry): Message {
  return { channel, event: fields[1]!, data: JSON.parse(fields[3]!), epoch, offset: Number(id.slice(0, id.indexOf("-"))), ts: Number(fields[5]), ...messageId(fields, 6) };
}

function messageId(fields: string[], at: number): { id?: string } {
  return fields[at] === "i" && fields[at + 1] !== undefined ? { id: fields[at + 1] } : {};
}
