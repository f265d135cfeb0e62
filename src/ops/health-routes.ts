import { sendJson } from "../http/responses.js";
import type { Routes } from "../http/router.js";

export interface HealthDeps {
  /** A canary along the publish → fan-out path (Broker.probe): rejects when it does not come back. */
  probe(timeoutMs: number): Promise<void>;
  isDraining(): boolean;
  /** The host's metrics in Prometheus text format, aggregated over workers by the primary. */
  collectMetrics(): Promise<string>;
  probeTimeoutMs: number;
}

/** /healthz (the process answers), /readyz (the publish → fan-out path works, not draining), /metrics. */
export function healthRoutes(deps: HealthDeps): Routes {
  return {
    "/healthz": { GET: (_req, res) => sendJson(res, 200, { status: "ok" }) },
    "/readyz": {
      GET: async (_req, res) => {
        if (deps.isDraining()) return sendJson(res, 503, { status: "draining" });
        try {
          await deps.probe(deps.probeTimeoutMs);
          sendJson(res, 200, { status: "ready" });
        } catch (err) {
          sendJson(res, 503, { status: "unready", reason: (err as Error).message });
        }
      },
    },
    "/metrics": {
      GET: async (_req, res) => {
        const text = await deps.collectMetrics();
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
        res.end(text);
      },
    },
  };
}
