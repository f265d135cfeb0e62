/**
 * What webhooks report (docs/publishing.md, "Webhooks"). The part that decides a change once for
 * all hosts (the Redis scripts in the Redis modes, the primary in embedded mode) records the event;
 * the webhook sender batches, signs and posts it. This file is the seam between the two.
 */
export type WebhookEventName = "channel_occupied" | "channel_vacated" | "member_added" | "member_removed";

export interface WebhookEvent {
  name: WebhookEventName;
  channel: string;
  /** member_added and member_removed only. */
  user_id?: string;
  /** When the change was decided (ms since the epoch); the posted batch's `time_ms` is when it is sent. */
  time_ms: number;
}

/** Embedded mode: where the primary hands the events it decided. */
export interface WebhookOutbox {
  add(events: readonly WebhookEvent[]): void;
}

/**
 * Redis modes: the list a deciding script RPUSHes each event's JSON to, atomically with the change
 * it reports, so a host's death between the two loses none.
 */
export function webhookQueueKey(keyPrefix: string): string {
  return `${keyPrefix}webhooks:queue`;
}
