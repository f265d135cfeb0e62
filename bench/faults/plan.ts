/** The shape of one fault round: the same for every fault, so the rounds compare. */
import type { PusherConfig } from "../../src/config/schema.js";
import type { Transports } from "../failover/protocol.js";

export type Durability = PusherConfig["publish"]["durability"];

export interface FaultPlan {
  /** Redis replicas beside the master (Sentinel promotes one of them). */
  replicas: number;
  /** Sentinel `down-after-milliseconds`. */
  downAfterMs: number;
  hosts: number;
  workersPerHost: number;
  /** Subscribers, split evenly over the client processes, all through nginx. */
  subscribers: number;
  clientProcesses: number;
  channels: number;
  /** Subscriber i of a client process takes transports[floor(i / channels) mod length]. */
  transports: Transports[];
  /** Source addresses per client process (127.0.x.y): `hash $remote_addr` spreads them over the hosts. */
  sourceAddresses: number;
  /** Single publishes per second to /v1/publish through nginx, over the channels in turn. */
  httpPerSecond: number;
  /** Entries per second appended to the Redis ingress stream. */
  ingressPerSecond: number;
  maxInFlight: number;
  /** The hosts' publish.timeoutMs: a publish with no answer within it plus `answerMarginMs` is unanswered. */
  publishTimeoutMs: number;
  answerMarginMs: number;
  /** An HTTP publish is given up only after this long: an answer after the bound is late, none is never. */
  abandonAfterMs: number;
  beforeFaultMs: number;
  /** Publishing goes on at least this long after the fault, and `settleMs` after the fault's last step. */
  afterFaultMs: number;
  settleMs: number;
  /** How long deliveries may trail the last answer before the rest count as missed. */
  drainMs: number;
  /**
   * After Redis servers are restored: how long pusher's ingress backlog (entries written until
   * then) may take to be published (its reader retries entries it could not publish).
   */
  backlogDrainMs: number;
  /** Bound on each +switch-master, and on a host's restart. */
  stepTimeoutMs: number;
  /** Double failover: the promoted master is killed this long after its +switch-master. */
  secondKillAfterMs: number;
  /** Host kill: how long the host stays down before its supervisor starts it again. */
  hostDownMs: number;
  connectTimeoutMs: number;
}

export const faultPlan: FaultPlan = {
  replicas: 2,
  downAfterMs: 1_000,
  hosts: 2,
  workersPerHost: 2,
  // Half the 400: the machine's 2 cores are shared; the figures are about correctness.
  subscribers: 200,
  clientProcesses: 2,
  channels: 8,
  // 7 websocket to 1 long-polling: through nginx (`Connection: close` upstream, by design) every
  // poll is a new TCP connection to a host, and a poller on a busy channel polls ~30 times a
  // second: at half polling the 2 shared cores spent the round accepting connections.
  transports: [["websocket"], ["websocket"], ["websocket"], ["websocket"], ["websocket"], ["websocket"], ["websocket"], ["polling"]],
  sourceAddresses: 8,
  httpPerSecond: 200,
  ingressPerSecond: 50,
  maxInFlight: 4_000,
  publishTimeoutMs: 10_000,
  answerMarginMs: 2_000,
  abandonAfterMs: 30_000,
  beforeFaultMs: 5_000,
  afterFaultMs: 10_000,
  settleMs: 3_000,
  drainMs: 10_000,
  backlogDrainMs: 30_000,
  stepTimeoutMs: 30_000,
  secondKillAfterMs: 1_000,
  hostDownMs: 3_000,
  connectTimeoutMs: 15_000,
};
