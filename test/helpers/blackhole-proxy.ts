// A TCP proxy that can make the network path silently disappear, as a failover, a dead NAT or a
// firewall that lost its state does: `blackhole()` stops forwarding in both directions without
// closing anything (no FIN, no RST — the bytes just vanish), and connections opened meanwhile
// are accepted but never reach the server (the handshake gets no answer). The connections caught
// in it stay dead for good, like a NAT entry that is gone; `resume()` lets new connections
// through again. Used by the network-fault tests (Redis, and RabbitMQ the same way).
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface BlackholeProxy {
  readonly port: number;
  /** Stop forwarding everywhere, silently (nothing is closed). */
  blackhole(): void;
  /** New connections are forwarded again; those caught in the blackhole stay dead. */
  resume(): void;
  /** Connections currently forwarding (for waiting until a client has reconnected). */
  readonly liveConnections: number;
  /** Close every socket and stop listening. */
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket | null;
  dead: boolean;
}

/** Listen on 127.0.0.1 (a spare port) and forward to `target`. */
export async function startBlackholeProxy(target: { host: string; port: number }): Promise<BlackholeProxy> {
  const pairs = new Set<Pair>();
  let holed = false;
  const server: Server = createServer((client) => {
    const pair: Pair = { client, upstream: null, dead: holed };
    pairs.add(pair);
    client.on('error', () => undefined);
    const forget = () => {
      pair.upstream?.destroy();
      pairs.delete(pair);
    };
    if (pair.dead) {
      // Accepted, then silence: whatever the client sends is swallowed.
      client.on('data', () => undefined);
      client.on('close', forget);
      return;
    }
    const upstream = createConnection(target);
    pair.upstream = upstream;
    upstream.on('error', () => undefined);
    client.on('data', (chunk) => {
      if (!pair.dead) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!pair.dead) client.write(chunk);
    });
    // A close on one side is passed on only while the path is alive: a dead path carries nothing.
    client.on('close', () => {
      if (!pair.dead) forget();
    });
    upstream.on('close', () => {
      if (!pair.dead) {
        client.destroy();
        pairs.delete(pair);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    blackhole() {
      holed = true;
      for (const pair of pairs) pair.dead = true;
    },
    resume() {
      holed = false;
    },
    get liveConnections() {
      return [...pairs].filter((p) => !p.dead).length;
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream?.destroy();
      }
      pairs.clear();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
