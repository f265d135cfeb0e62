import type { ErrorBody } from "../../protocol/errors.js";
import type { PublishOffsets } from "../../protocol/messages.js";

export interface PublishElements {
  form: HTMLFormElement;
  key: HTMLInputElement;
  channel: HTMLInputElement;
  event: HTMLInputElement;
  data: HTMLTextAreaElement;
  id: HTMLInputElement;
  submit: HTMLButtonElement;
  result: HTMLElement;
}

type Outcome = "ok" | "error" | "pending";

/**
 * The publish form: POST /v1/publish with the API key typed into the page. The key lives only in
 * its password field, for as long as the page is open; it is neither stored in the browser nor
 * kept by the server beyond checking each request.
 */
export class PublishPanel {
  readonly #ui: PublishElements;
  readonly #url: string;

  constructor(ui: PublishElements, url: string) {
    this.#ui = ui;
    this.#url = url;
    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.#publish();
    });
  }

  async #publish(): Promise<void> {
    const ui = this.#ui;
    const body: Record<string, unknown> = { channel: ui.channel.value.trim(), event: ui.event.value.trim() };
    const data = ui.data.value.trim();
    if (data !== "") {
      try {
        body.data = JSON.parse(data) as unknown;
      } catch {
        this.#show("error", "local", "data: not valid JSON (leave it empty to send null)");
        return;
      }
    }
    const id = ui.id.value.trim();
    if (id !== "") body.id = id;
    ui.submit.disabled = true;
    this.#show("pending", "", "publishing…");
    try {
      const res = await fetch(this.#url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${ui.key.value.trim()}` },
        body: JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
      });
      const answer = (await res.json().catch(() => undefined)) as { offsets?: PublishOffsets; error?: ErrorBody } | undefined;
      if (res.ok && answer?.offsets) {
        const where = Object.entries(answer.offsets).map(([channel, at]) => `${channel} → epoch ${at.epoch}, offset ${at.offset}`);
        this.#show("ok", String(res.status), `published: ${where.join("; ")}`);
      } else {
        const retry = res.headers.get("retry-after");
        const error = answer?.error ? `${answer.error.code}: ${answer.error.message}` : res.statusText;
        this.#show("error", String(res.status), `${res.status} ${error}${retry !== null ? ` (retry after ${retry} s)` : ""}`);
      }
    } catch (err) {
      this.#show("error", "network", `request failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      ui.submit.disabled = false;
    }
  }

  #show(outcome: Outcome, status: string, text: string): void {
    this.#ui.result.textContent = text;
    this.#ui.result.dataset.outcome = outcome;
    this.#ui.result.dataset.status = status;
  }
}
