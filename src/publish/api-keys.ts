import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { PusherError } from "../protocol/errors.js";

const digest = (value: string): Buffer => createHash("sha256").update(value).digest();

/** Checks `Authorization: Bearer <key>` against auth.apiKeys in constant time per key. */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: string[]) {
    this.digests = keys.map(digest);
  }

  /** Returns the key (the rate-limit identity) or throws `unauthorized`. */
  authenticate(req: IncomingMessage): string {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
    const key = match?.[1];
    if (key !== undefined) {
      const candidate = digest(key);
      if (this.digests.some((d) => timingSafeEqual(d, candidate))) return key;
    }
    throw new PusherError("unauthorized");
  }
}
