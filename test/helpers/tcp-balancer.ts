import net from "node:net";
import type { TestContext } from "node:test";

/**
 * A stand-in for the load balancer in front of several hosts: each new TCP connection goes to the
 * first upstream that accepts it, so when a host dies its clients' reconnects land on the next.
 * (The real nginx path is tested with nginx itself.)
 */
export async function startBalancer(t: TestContext, upstreamPorts: number[]): Promise<{ url: string }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    client.pause();
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    const tryUpstream = (index: number): void => {
      const port = upstreamPorts[index];
      if (port === undefined) return void client.destroy();
      const upstream = net.connect(port, "127.0.0.1");
      upstream.once("error", () => {
        upstream.destroy();
        if (upstream.connecting || upstream.bytesWritten === 0) tryUpstream(index + 1);
        else client.destroy();
      });
      upstream.once("connect", () => {
        sockets.add(upstream);
        upstream.on("close", () => {
          sockets.delete(upstream);
          client.destroy();
        });
        client.on("close", () => upstream.destroy());
        client.pipe(upstream).pipe(client);
        client.resume();
      });
    };
    tryUpstream(0);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}` };
}
