import type { ConsoleSeries } from "../../protocol/console-series.js";
import { cell, element } from "./dom.js";
import { sparkline } from "./sparkline.js";

export interface SeriesElements {
  rows: HTMLTableSectionElement;
  status: HTMLElement;
}

/**
 * Each worker's connections and message rate over the last minutes, as sparklines, from
 * /console/series.json (the primary's samples of the figures /metrics sums). Refreshed at the
 * sampling interval the server states.
 */
export class SeriesPanel {
  readonly #ui: SeriesElements;
  readonly #url: string;

  constructor(ui: SeriesElements, url: string) {
    this.#ui = ui;
    this.#url = url;
    void this.#refresh();
  }

  async #refresh(): Promise<void> {
    let nextMs = 5000;
    try {
      const res = await fetch(this.#url, { cache: "no-store", credentials: "omit" });
      if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
      const series = (await res.json()) as ConsoleSeries;
      nextMs = series.intervalMs;
      this.#render(series);
    } catch (err) {
      this.#ui.status.textContent = `worker figures unavailable: ${err instanceof Error ? err.message : String(err)}`;
      this.#ui.status.dataset.state = "error";
    }
    setTimeout(() => void this.#refresh(), nextMs);
  }

  #render(series: ConsoleSeries): void {
    const minutes = Math.round(((series.workers[0]?.connections.length ?? 0) * series.intervalMs) / 6000) / 10;
    this.#ui.status.textContent = minutes > 0 ? `last ${minutes} min, one point per ${series.intervalMs / 1000} s` : "collecting the first samples…";
    this.#ui.status.dataset.state = "ok";
    this.#ui.rows.replaceChildren(
      ...series.workers.map((worker) =>
        element("tr", { attrs: { "data-testid": "worker-series", "data-worker": String(worker.index) } }, [
          cell(`worker ${worker.index}`),
          cell(String(worker.connections.at(-1) ?? "–"), "num"),
          element("td", {}, [sparkline(worker.connections, `worker ${worker.index} connections`)]),
          cell(String(worker.messageRate.at(-1) ?? "–"), "num"),
          element("td", {}, [sparkline(worker.messageRate, `worker ${worker.index} messages per second`)]),
        ]),
      ),
    );
  }
}
