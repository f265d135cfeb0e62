import type { PublishOutcome, PublishRequest } from "./broker.js";

/** Sends one group of requests to the sequencer; `arrivedAt` sets its deadline (Broker.publish). */
export type SendPublishes = (requests: PublishRequest[], arrivedAt: number) => Promise<PublishOutcome[]>;

interface Call {
  requests: PublishRequest[];
  arrivedAt: number;
  resolve(outcomes: PublishOutcome[]): void;
  reject(err: unknown): void;
}

/**
 * Groups the publishes one process makes within one event-loop turn into one send (one IPC
 * message to the embedded sequencer, one script run on Redis): each single-message HTTP request
 * would otherwise pay a whole round trip. The calls keep their order inside a group and the groups
 * are sent in order, so per-channel order is what it was; each caller gets its own outcomes, or the
 * group's failure. A group's deadline is its earliest caller's, so no caller hears later than its
 * own publish.timeoutMs. A call larger than `maxRequests` is sent alone, never split.
 */
export class PublishBatcher {
  /** Bounds one IPC message or one script run (a few hundred kB at the default payload sizes). */
  static readonly DEFAULT_MAX_REQUESTS = 500;

  private queue: Call[] = [];
  private scheduled = false;

  constructor(
    private readonly send: SendPublishes,
    private readonly maxRequests = PublishBatcher.DEFAULT_MAX_REQUESTS,
  ) {}

  publish(requests: PublishRequest[], arrivedAt: number): Promise<PublishOutcome[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ requests, arrivedAt, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      // After the poll phase: every request whose body arrived in this turn joins the group.
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const calls = this.queue;
    this.queue = [];
    let group: Call[] = [];
    let size = 0;
    for (const call of calls) {
      if (group.length > 0 && size + call.requests.length > this.maxRequests) {
        this.sendGroup(group);
        group = [];
        size = 0;
      }
      group.push(call);
      size += call.requests.length;
    }
    if (group.length > 0) this.sendGroup(group);
  }

  private sendGroup(group: Call[]): void {
    if (group.length === 1) {
      const [call] = group as [Call];
      this.send(call.requests, call.arrivedAt).then(call.resolve, call.reject);
      return;
    }
    const requests = group.flatMap((call) => call.requests);
    const arrivedAt = group.reduce((earliest, call) => Math.min(earliest, call.arrivedAt), Infinity);
    this.send(requests, arrivedAt).then(
      (outcomes) => {
        let next = 0;
        for (const call of group) {
          call.resolve(outcomes.slice(next, next + call.requests.length));
          next += call.requests.length;
        }
      },
      (err: unknown) => {
        for (const call of group) call.reject(err);
      },
    );
  }
}
