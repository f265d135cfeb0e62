import { channelRows, memberRows, unavailableText } from "./channel-state.js";
import { cell, element } from "./dom.js";

export interface ChannelsElements {
  /** The API key field the publish form uses: one key for the whole page. */
  key: HTMLInputElement;
  status: HTMLElement;
  rows: HTMLTableSectionElement;
  membersTitle: HTMLElement;
  members: HTMLUListElement;
  membersStatus: HTMLElement;
}

const REFRESH_MS = 2000;

/**
 * Occupied channels with their subscriber counts (GET /v1/channels) and, for the presence channel
 * picked, its members (GET /v1/channels/:channel/members), polled while the page is open, with the
 * API key typed into the page.
 */
export class ChannelsPanel {
  readonly #ui: ChannelsElements;
  readonly #origin: string;
  #selected: string | undefined;

  constructor(ui: ChannelsElements, origin: string) {
    this.#ui = ui;
    this.#origin = origin;
    void this.#refresh();
  }

  async #refresh(): Promise<void> {
    const key = this.#ui.key.value.trim();
    if (key === "") {
      this.#state(this.#ui.status, "idle", "Enter the API key (in the publish form) to see occupied channels.");
    } else {
      await this.#channels(key);
      if (this.#selected !== undefined) await this.#members(key, this.#selected);
    }
    setTimeout(() => void this.#refresh(), REFRESH_MS);
  }

  async #channels(key: string): Promise<void> {
    const answer = await this.#get("/v1/channels", key);
    if (typeof answer === "string") {
      this.#state(this.#ui.status, "error", answer);
      return;
    }
    const rows = channelRows(answer);
    this.#state(this.#ui.status, "ok", rows.length === 0 ? "No occupied channels." : `${rows.length} occupied`);
    this.#ui.rows.replaceChildren(
      ...rows.map(({ channel, subscribers }) => {
        const name = channel.startsWith("presence-")
          ? element("button", { text: channel, className: "link", attrs: { type: "button", "aria-label": `Show the members of ${channel}` } })
          : document.createTextNode(channel);
        name.addEventListener("click", () => {
          this.#selected = channel;
          void this.#members(key, channel);
        });
        return element("tr", { attrs: { "data-testid": "channel", "data-channel": channel } }, [element("td", {}, [name]), cell(String(subscribers), "num")]);
      }),
    );
  }

  async #members(key: string, channel: string): Promise<void> {
    this.#ui.membersTitle.textContent = `Members of ${channel}`;
    const answer = await this.#get(`/v1/channels/${encodeURIComponent(channel)}/members`, key);
    if (typeof answer === "string") {
      this.#state(this.#ui.membersStatus, "error", answer);
      return;
    }
    const members = memberRows(answer);
    this.#state(this.#ui.membersStatus, "ok", `${members.length} member${members.length === 1 ? "" : "s"}`);
    this.#ui.members.replaceChildren(
      ...members.map(({ id, info }) =>
        element("li", { attrs: { "data-testid": "member", "data-id": id } }, [
          element("span", { text: id }),
          ...(info === undefined ? [] : [element("code", { text: JSON.stringify(info) })]),
        ]),
      ),
    );
  }

  /** The JSON answer, or the text that says why there is none. */
  async #get(path: string, key: string): Promise<unknown> {
    try {
      const res = await fetch(new URL(path, this.#origin).href, { headers: { authorization: `Bearer ${key}` }, cache: "no-store", credentials: "omit" });
      if (!res.ok) return unavailableText(res.status, path);
      return (await res.json()) as unknown;
    } catch (err) {
      return `${path}: request failed (${err instanceof Error ? err.message : String(err)})`;
    }
  }

  #state(target: HTMLElement, state: "idle" | "ok" | "error", text: string): void {
    target.textContent = text;
    target.dataset.state = state;
  }
}
