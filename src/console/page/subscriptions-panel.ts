import type { PusherClient, StreamPosition, Subscription, SubscriptionError } from "../../client/index.js";
import { cell, element } from "./dom.js";
import type { MessageLog } from "./message-log.js";

export interface SubscriptionsElements {
  form: HTMLFormElement;
  channel: HTMLInputElement;
  token: HTMLInputElement;
  error: HTMLElement;
  rows: HTMLTableSectionElement;
  empty: HTMLElement;
}

/** One subscription's table row: its status and the position the client helper holds. */
class SubscriptionRow {
  readonly row: HTMLTableRowElement;
  readonly #status = cell("subscribing…", "status");
  readonly #epoch = cell("–", "mono");
  readonly #offset = cell("–", "num");
  readonly #action = element("button", { text: "Unsubscribe", attrs: { type: "button" } });
  #refused = false;

  constructor(channel: string, onLeave: () => void) {
    this.#action.setAttribute("aria-label", `Unsubscribe from ${channel}`);
    this.#action.addEventListener("click", onLeave);
    this.row = element("tr", { attrs: { "data-testid": "subscription", "data-channel": channel } }, [
      cell(channel),
      this.#status,
      this.#epoch,
      this.#offset,
      element("td", { className: "action" }, [this.#action]),
    ]);
    this.row.dataset.status = "pending";
  }

  /** True once the server refused the channel for good. */
  get isRefused(): boolean {
    return this.#refused;
  }

  status(text: string, kind: "ok" | "pending" | "error"): void {
    this.#status.textContent = text;
    this.row.dataset.status = kind;
  }

  position(position: StreamPosition | undefined): void {
    if (!position) return;
    this.#epoch.textContent = position.epoch;
    this.#offset.textContent = String(position.offset);
  }

  /** After a final refusal there is nothing to unsubscribe from: the button only clears the row. */
  refused(): void {
    this.#refused = true;
    this.#action.textContent = "Remove";
  }
}

/** The subscribe form and the list of subscriptions; messages go to the log. */
export class SubscriptionsPanel {
  readonly #client: PusherClient;
  readonly #ui: SubscriptionsElements;
  readonly #log: MessageLog;
  readonly #rows = new Map<string, SubscriptionRow>();

  constructor(client: PusherClient, ui: SubscriptionsElements, log: MessageLog, onSubscribed: (channel: string) => void) {
    this.#client = client;
    this.#ui = ui;
    this.#log = log;
    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const channel = ui.channel.value.trim();
      if (this.#subscribe(channel, ui.token.value.trim())) {
        ui.channel.value = "";
        onSubscribed(channel);
      }
    });
  }

  #subscribe(channel: string, token: string): boolean {
    this.#ui.error.textContent = "";
    const existing = this.#rows.get(channel);
    if (existing && !existing.isRefused) {
      this.#ui.error.textContent = `already subscribed to ${channel}`;
      return false;
    }
    // A row left by a refused subscription gives way to the new attempt.
    this.#remove(channel);
    let subscription: Subscription;
    const row = new SubscriptionRow(channel, () => {
      subscription.unsubscribe();
      this.#remove(channel);
    });
    try {
      subscription = this.#client.subscribe(
        channel,
        (message) => {
          this.#log.message(message);
          // The helper reports only the first ack; a delivery is what proves a retried resubscribe took.
          row.status("subscribed", "ok");
          row.position(subscription.position);
        },
        {
          ...(token !== "" ? { token } : {}),
          onResync: (event) => {
            this.#log.resync(event);
            row.position(subscription.position);
          },
          onError: (error) => this.#refused(row, error),
        },
      );
    } catch (err) {
      // An invalid name: nothing was sent.
      this.#ui.error.textContent = err instanceof Error ? err.message : String(err);
      return false;
    }
    this.#rows.set(channel, row);
    this.#ui.rows.append(row.row);
    this.#ui.empty.hidden = true;
    subscription.ready.then(
      () => {
        row.status("subscribed", "ok");
        row.position(subscription.position);
      },
      () => undefined, // onError has shown it
    );
    return true;
  }

  #refused(row: SubscriptionRow, error: SubscriptionError): void {
    row.status(`${error.final ? "refused" : "retrying"}: ${error.code}`, error.final ? "error" : "pending");
    if (error.final) row.refused();
    this.#log.notice("error", error.channel, error.message);
  }

  #remove(channel: string): void {
    this.#rows.get(channel)?.row.remove();
    this.#rows.delete(channel);
    this.#ui.empty.hidden = this.#rows.size > 0;
  }
}
