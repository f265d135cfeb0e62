import type { Message, ResyncEvent } from "../../client/index.js";
import { cell, clockTime, element } from "./dom.js";

/** Rows kept on screen; older ones are dropped so a busy channel cannot grow the page without bound. */
const MAX_ROWS = 500;

/** The message log: newest first; messages, resync notices and client errors, each a table row. */
export class MessageLog {
  readonly #body: HTMLTableSectionElement;
  readonly #empty: HTMLElement;

  constructor(body: HTMLTableSectionElement, empty: HTMLElement, clear: HTMLButtonElement) {
    this.#body = body;
    this.#empty = empty;
    clear.addEventListener("click", () => {
      this.#body.replaceChildren();
      this.#empty.hidden = false;
    });
  }

  message(message: Message): void {
    const row = element("tr", { attrs: { "data-testid": "message", "data-channel": message.channel, "data-offset": String(message.offset) } }, [
      cell(clockTime(message.ts), "time"),
      cell(message.channel),
      cell(message.event),
      cell(message.epoch, "mono"),
      cell(String(message.offset), "num"),
      element("td", {}, [element("code", { text: JSON.stringify(message.data) ?? "undefined" })]),
    ]);
    this.#add(row);
  }

  resync(event: ResyncEvent): void {
    const from = event.previous ? `${event.previous.epoch}/${event.previous.offset}` : "nothing held";
    this.notice("resync", event.channel, `${event.reason}: messages after ${from} were missed; continuing after ${event.epoch}/${event.offset}`);
  }

  /** A row that is not a message: a resync, a refused subscription, a connection error. */
  notice(kind: "resync" | "error" | "info", channel: string, text: string): void {
    const row = element("tr", { className: `notice ${kind}`, attrs: { "data-testid": kind === "resync" ? "resync" : "notice", "data-channel": channel } }, [
      cell(clockTime(Date.now()), "time"),
      cell(channel),
      element("td", { text, attrs: { colspan: "4" } }),
    ]);
    this.#add(row);
  }

  #add(row: HTMLTableRowElement): void {
    this.#empty.hidden = true;
    this.#body.prepend(row);
    while (this.#body.rows.length > MAX_ROWS) this.#body.lastElementChild?.remove();
  }
}
