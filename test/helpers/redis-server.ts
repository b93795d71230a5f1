// A private redis-server for tests that need a server of their own (one that starts late, or a
// clean database the README's unchanged snippets can use): a spare port, started and killed by
// the test itself (by PID).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
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
  /** SIGKILL the server (no persistence to flush). */
  kill(): void;
}

/** Start redis-server on `port` (no persistence) and resolve once it answers PING. */
export async function startRedisServer(port: number): Promise<RedisServer> {
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  };
  process.once('exit', kill);
  const probe = new Redis({ port, host: '127.0.0.1', retryStrategy: () => 50, maxRetriesPerRequest: null });
  probe.on('error', () => undefined);
  try {
    await probe.ping(); // queued until the server answers
  } catch (error) {
    kill();
    throw error;
  } finally {
    probe.disconnect();
  }
  return { port, url: `redis://127.0.0.1:${port}/0`, kill };
}
