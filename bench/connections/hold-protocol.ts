import type { HistogramCounts } from "../load/histogram.js";

/** Coordinator → load process of the connections bench. */
export type HoldCommand =
  | {
      type: "open";
      /** The Engine.IO websocket URL (`ws://…/socket.io/?EIO=4&transport=websocket`). */
      url: string;
      /** Source address of this process's connections (127.0.0.x). */
      localAddress: string;
      /** One connection per entry, subscribed to that channel. */
      channels: string[];
      concurrency: number;
      timeoutMs: number;
      attempts: number;
    }
  | { type: "measure"; run: string }
  | { type: "report" }
  | { type: "close" };

/** Load process → coordinator. */
export type HoldEvent =
  | { type: "opened"; held: number; failed: number; elapsedMs: number; firstError?: string }
  | { type: "measuring" }
  | { type: "report"; received: number; disconnects: number; histogram: HistogramCounts };
