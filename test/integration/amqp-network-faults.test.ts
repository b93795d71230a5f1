// Silent network loss between a client and RabbitMQ (issue #16, scenario 2, AMQP side): a proxy
// to the shared RabbitMQ stops forwarding without closing anything. AMQP heartbeats (Celery's
// `broker_heartbeat`, amqplib checks them) notice it within ~2 × heartbeat; the transport
// reconnects once the path returns and publishing works again.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { Celery } from '../../src/index.js';
import type { TransportEvent } from '../../src/transport/transport.js';
import { startBlackholeProxy } from '../helpers/blackhole-proxy.js';

const AMQP_HOST = process.env.TEST_AMQP_HOST ?? '127.0.0.1';
const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a blackholed AMQP path is noticed within ~2 × heartbeat, and the transport reconnects after', async () => {
  const proxy = await startBlackholeProxy({ host: AMQP_HOST, port: 5672 });
  closers.push(() => proxy.close());
  const app = new Celery({
    broker_url: `amqp://guest:guest@127.0.0.1:${proxy.port}//`,
    broker_heartbeat: 1,
    broker_transport_options: { connect_timeout: 1 },
  });
  closers.push(() => app.close());
  const transport = app.transport;
  const events: { type: TransportEvent['type']; at: number }[] = [];
  transport.onEvent((e) => events.push({ type: e.type, at: Date.now() }));
  await transport.connect();
  const queue = `nfamqp-${randomBytes(4).toString('hex')}`;
  await transport.declareQueue({ name: queue });
  const holedAt = Date.now();
  proxy.blackhole();
  await until(() => events.some((e) => e.type === 'connection-lost'), 'the heartbeat to notice');
  const noticed = events.find((e) => e.type === 'connection-lost')!.at - holedAt;
  console.log(`# AMQP time to notice (broker_heartbeat 1 s): ${(noticed / 1000).toFixed(2)} s`);
  assert.ok(noticed < 5000, `noticed after ${noticed} ms`);
  const resumedAt = Date.now();
  proxy.resume();
  await until(() => events.some((e) => e.type === 'reconnected' && e.at >= resumedAt), 'the reconnect');
  console.log(`# AMQP time to resume: ${((events.find((e) => e.type === 'reconnected')!.at - resumedAt) / 1000).toFixed(2)} s`);
  assert.equal(await transport.queueSize(queue), 0);
  await transport.deleteQueue({ name: queue });
});
