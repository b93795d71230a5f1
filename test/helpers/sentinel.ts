// A real Redis Sentinel for the tests: `redis-server <conf> --sentinel` on a free port, monitoring
// the test Redis (127.0.0.1:6379) under a unique master name. Stopped by the caller.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pollUntil } from './python.js';
import { REDIS_HOST, REDIS_PORT } from './redis.js';
import { sparePort } from './redis-server.js';

export interface Sentinel {
  /** `sentinel://127.0.0.1:<port>` (append `/<db>` for a database). */
  readonly url: string;
  readonly port: number;
  readonly masterName: string;
  stop(): Promise<void>;
}

export async function startSentinel(masterName: string): Promise<Sentinel> {
  const dir = await mkdtemp(join(tmpdir(), 'sentinel-'));
  const port = await sparePort();
  const conf = join(dir, 'sentinel.conf');
  // Sentinel rewrites its config file, so it gets a private copy.
  await writeFile(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor ${masterName} ${REDIS_HOST} ${REDIS_PORT} 1\n`);
  const child: ChildProcess = spawn('redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (c: Buffer) => (log += c));
  child.stderr!.on('data', (c: Buffer) => (log += c));
  const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  const stop = async () => {
    probe.disconnect();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await pollUntil(
      `sentinel on port ${port} monitoring ${masterName}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`redis-server --sentinel exited: ${log}`);
        if (probe.status !== 'ready') await probe.connect().catch(() => {});
        const addr = (await probe.call('SENTINEL', 'get-master-addr-by-name', masterName).catch(() => null)) as string[] | null;
        return addr?.[1] === String(REDIS_PORT);
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `sentinel://127.0.0.1:${port}`, port, masterName, stop };
}
