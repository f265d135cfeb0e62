import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { TestContext } from "node:test";
import { SIGNATURE_HEADER, signWebhookBody } from "../../src/webhooks/webhook-signature.js";
import type { WebhookBody } from "../../src/webhooks/webhook-post.js";

/** How the receiver answers the next posts: a status, or hold the request unanswered. */
export type ReceiverMode = { status: number } | "hang";

export interface ReceivedPost {
  body: WebhookBody;
  signatureValid: boolean;
  /** The status it was answered with (undefined: held). */
  status: number | undefined;
}

/**
 * A real HTTP server in the test process that receives webhooks: it checks every post's signature
 * with `secret` and records it. It can answer errors, hold requests, or stop listening and start
 * again on the same port (a receiver that was down).
 */
export class WebhookReceiver {
  readonly posts: ReceivedPost[] = [];
  mode: ReceiverMode = { status: 200 };
  #server: http.Server;
  #port = 0;
  readonly #held = new Set<http.ServerResponse>();
  readonly #waiters = new Set<() => void>();

  private constructor(private readonly secret: string) {
    this.#server = this.#create();
  }

  static async start(t: TestContext, secret: string): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(secret);
    await receiver.listen();
    t.after(() => receiver.close());
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}/hooks`;
  }

  /** Every event of every acknowledged (2xx) post, in arrival order. */
  acknowledged(): WebhookBody["events"] {
    return this.posts.filter((p) => p.status !== undefined && p.status < 300).flatMap((p) => p.body.events);
  }

  /** Resolves once `done()` holds, checked after every post. */
  async until(done: () => boolean, timeoutMs = 20_000, what = "webhook posts"): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      assert.ok(left > 0, `timed out waiting for ${what}; received ${JSON.stringify(this.posts.map((p) => [p.status, p.body.events.length]))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, left);
        function wake(): void {
          clearTimeout(timer);
          resolve();
        }
        this.#waiters.add(wake);
      });
    }
  }

  async listen(): Promise<void> {
    this.#server = this.#create();
    this.#server.listen(this.#port, "127.0.0.1");
    await once(this.#server, "listening");
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  /** Stops listening and cuts every connection, held requests included. */
  async close(): Promise<void> {
    for (const res of this.#held) res.destroy();
    this.#held.clear();
    this.#server.closeAllConnections();
    if (this.#server.listening) await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #create(): http.Server {
    return http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const signatureValid = req.headers[SIGNATURE_HEADER] === signWebhookBody(raw, this.secret);
        const mode = this.mode;
        const status = mode === "hang" ? undefined : mode.status;
        this.posts.push({ body: JSON.parse(raw) as WebhookBody, signatureValid, status });
        if (status === undefined) this.#held.add(res);
        else res.writeHead(status).end();
        for (const wake of this.#waiters) wake();
        this.#waiters.clear();
      });
    });
  }
}
