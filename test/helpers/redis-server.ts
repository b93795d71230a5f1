// A private redis-server for tests that need a server of their own — one that starts late, goes
// away and comes back, or a clean database the README's unchanged snippets can use — on a spare
// port, started and killed by the test itself (the shared Redis on 6379 is never stopped).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { Redis } from 'ioredis';

/** A port nothing listens on (the OS picks it, then it is released). */
export function sparePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** SIGKILL the server (no persistence to flush); clients see the connection drop. */
  kill(): Promise<void>;
  /** Start it again on the same port (empty, or with what its append-only file kept). */
  restart(): Promise<void>;
  /** Kill it and remove its data directory. */
  destroy(): Promise<void>;
}

export interface RedisServerOptions {
  /** Keep an append-only file fsynced on every write (`appendfsync always`), in a temp dir, so a kill -9 loses nothing. */
  aof?: boolean;
  /** More redis-server arguments (e.g. `--requirepass`, `--aclfile`). */
  args?: string[];
  /**
   * Serve TLS only on the port (`--port 0 --tls-port`): the certificate and key files, the CA for
   * client certificates (`--tls-auth-clients` is `yes` when `authClients`), and what the start-up
   * probe uses to connect. The url is then rediss://.
   */
  tls?: { certFile: string; keyFile: string; caFile: string; authClients?: boolean; probe: TlsOptions };
  /** Credentials the start-up probe authenticates with (when the default user is off). */
  probeAuth?: { username?: string; password: string };
}

/** Start redis-server (no persistence unless `aof`) on `port`, or a spare one, and resolve once it answers PING. */
export async function startRedisServer(port?: number, options: RedisServerOptions = {}): Promise<RedisServer> {
  const serverPort = port ?? (await sparePort());
  const dir = options.aof ? mkdtempSync(join(tmpdir(), 'ts-celery-redis-')) : undefined;
  const persistence = dir ? ['--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  let child: ChildProcess | undefined;
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  const start = async () => {
    const { tls } = options;
    const listen = tls
      ? ['--port', '0', '--tls-port', String(serverPort), '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', tls.authClients ? 'yes' : 'no']
      : ['--port', String(serverPort)];
    child = spawn('redis-server', [...listen, '--bind', '127.0.0.1', '--save', '', ...persistence, ...(options.args ?? [])], { stdio: 'ignore' });
    const probe = new Redis({
      port: serverPort,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      ...(tls ? { tls: tls.probe } : {}),
      ...options.probeAuth,
    });
    probe.on('error', () => undefined);
    const deadline = Date.now() + 10_000;
    try {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`redis-server on port ${serverPort} exited with ${child.exitCode}`);
        if ((await probe.connect().then(() => probe.ping(), () => null)) === 'PONG') return;
        if (Date.now() > deadline) throw new Error(`redis-server on port ${serverPort} did not answer`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } catch (error) {
      await kill();
      throw error;
    } finally {
      probe.disconnect();
    }
  };
  process.once('exit', () => child?.kill('SIGKILL'));
  await start();
  const destroy = async () => {
    await kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  return { port: serverPort, url: `${options.tls ? 'rediss' : 'redis'}://127.0.0.1:${serverPort}/0`, kill, restart: start, destroy };
}
