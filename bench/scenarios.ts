/** The load shapes the bench runs; each is the same for every server. */
export interface Scenario {
  name: string;
  description: string;
  connections: number;
  channels: number;
  /** Target deliveries per second (messages/s × subscribers per channel). */
  deliveriesPerSecond: number;
  warmupMs: number;
  measureMs: number;
  /** Bytes of padding in each message's data (the whole message is ~this + 120 bytes of JSON). */
  payloadBytes: number;
}

export const scenarios: readonly Scenario[] = [
  {
    name: "fanout",
    description: "5000 subscribers on 1 channel: every publish is one 5000-way broadcast",
    connections: 5000,
    channels: 1,
    deliveriesPerSecond: 50_000,
    warmupMs: 2_000,
    measureMs: 10_000,
    payloadBytes: 100,
  },
  {
    name: "steady",
    description: "2000 subscribers spread over 20 channels (100 each), 50k deliveries/s",
    connections: 2000,
    channels: 20,
    deliveriesPerSecond: 50_000,
    warmupMs: 2_000,
    measureMs: 10_000,
    payloadBytes: 100,
  },
];

/** Channel of each connection: connections are dealt round-robin over the scenario's channels. */
export function connectionChannels(scenario: Scenario): string[] {
  return Array.from({ length: scenario.connections }, (_, i) => channelName(scenario, i % scenario.channels));
}

export function channelNames(scenario: Scenario): string[] {
  return Array.from({ length: scenario.channels }, (_, i) => channelName(scenario, i));
}

function channelName(scenario: Scenario, index: number): string {
  return `bench.${scenario.name}.${index}`;
}

/** Publishes per second that give the target delivery rate. */
export function messagesPerSecond(scenario: Scenario): number {
  return scenario.deliveriesPerSecond / (scenario.connections / scenario.channels);
}
