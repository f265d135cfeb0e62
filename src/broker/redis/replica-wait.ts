import type { Redis } from "ioredis";
import { PusherError } from "../../protocol/errors.js";
import type { ConnectionLoss } from "../../redis-client/connection-loss.js";
import { replicasToWaitFor } from "../../redis-client/replicas-to-wait-for.js";

const WAIT_STEP_MS = 250;

/** `durability: replica`: a publish is acknowledged once every replica that counts has it. */
export class ReplicaWait {
  constructor(
    private readonly commands: Redis,
    private readonly loss: ConnectionLoss,
    /** Replicas silent for longer are not waited for (see replicasToWaitFor). */
    private readonly maxLagSeconds: number,
  ) {}

  /** INFO replication; sent beside the write, it names the replicas connected right after it. */
  info(): Promise<string> {
    return this.loss.guard(this.commands.info("replication"));
  }

  /**
   * WAIT until every replica that counts has the write, in short steps: a connection silent for
   * longer than redis.commandTimeoutMs is taken for a hung master, and a replica that connects or
   * stalls meanwhile changes the count.
   */
  async until(info: string, deadline: number): Promise<void> {
    let needed = replicasToWaitFor(info, this.maxLagSeconds);
    while (Date.now() < deadline) {
      const step = Math.max(1, Math.min(deadline - Date.now(), WAIT_STEP_MS));
      if (Number(await this.loss.guard(this.commands.call("WAIT", needed, step))) >= needed) return;
      needed = replicasToWaitFor(await this.info(), this.maxLagSeconds);
    }
    throw new PusherError("unavailable", "the replicas did not all acknowledge the message within publish.timeoutMs; retry with the same id");
  }
}
