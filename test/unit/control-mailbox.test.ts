// The pidbox node against the Celery 5.7 fixtures: every captured request, replayed into our
// Mailbox with a fake worker holding the captured state, must produce the captured reply
// (headers, properties order, body) — plus filtering, errors and the clock.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LamportClock } from '../../src/control/clock.js';
import type { ControlledWorker } from '../../src/control/controlled-worker.js';
import { Mailbox } from '../../src/control/mailbox.js';
import type { RequestInfo, ScheduledRequest } from '../../src/control/worker-info.js';
import { decodeBody } from '../../src/protocol/codec.js';
import { decodeRedisEnvelope, encodeRedisEnvelope } from '../../src/protocol/envelope.js';
import type { Message } from '../../src/protocol/message.js';
import type { PublishTarget } from '../../src/transport/transport.js';
import { idleControlledWorker, recordingTransport } from '../helpers/control-fakes.js';
import { loadFixture } from '../helpers/fixtures.js';

const NODE = 'wirefx@capture';

interface FakeState {
  active?: RequestInfo[];
  reserved?: RequestInfo[];
  scheduled?: ScheduledRequest[];
  tasks?: string[];
  conf?: Record<string, unknown>;
  queues?: Record<string, unknown>[];
}

function fakeWorker(state: FakeState = {}): ControlledWorker & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    ...idleControlledWorker(NODE, {
      activeRequests: () => state.active ?? [],
      reservedRequests: () => state.reserved ?? [],
      scheduledRequests: () => state.scheduled ?? [],
      registeredTasks: () => (state.tasks ?? []).map((name) => ({ name })),
      stats: () => ({ total: { 'wirefx.add': 6 }, uptime: 29, pool: { implementation: 'x' }, broker: { hostname: '127.0.0.1' }, prefetch_count: 9 }),
      activeQueues: () => state.queues ?? [],
      conf: () => state.conf ?? {},
      markRevoked: async (ids) => void calls.push(`markRevoked ${ids.join(',')}`),
      terminate: (ids, signal) => {
        calls.push(`terminate ${ids.join(',')} ${signal}`);
        return ids.filter((id) => (state.active ?? []).some((r) => r.id === id));
      },
      setRateLimit: (name, rate) => (calls.push(`rate ${name} ${rate}`), (state.tasks ?? []).includes(name)),
      setTimeLimit: (name, l) => (calls.push(`time ${name} ${l.soft} ${l.hard}`), (state.tasks ?? []).includes(name)),
      addConsumer: async (spec) => void calls.push(`add ${JSON.stringify(spec)}`),
      cancelConsumer: (q) => void calls.push(`cancel ${q}`),
      poolGrow: (n) => void calls.push(`grow ${n}`),
      poolShrink: (n) => void calls.push(`shrink ${n}`),
      shutdown: (reason) => void calls.push(`shutdown ${reason}`),
    }),
  };
}

// biome-ignore lint: captured JSON
function requestOf(fx: any): Message {
  return decodeRedisEnvelope(JSON.stringify(fx.requests?.[0]?.envelope ?? fx.envelope)).message;
}

// biome-ignore lint: captured JSON
function replyOf(fx: any): { envelope: any; body: any } {
  const entry = fx.replies[0].entries[0];
  return { envelope: entry.envelope, body: entry.decoded_body };
}

// biome-ignore lint: captured JSON
async function replay(name: string, state: FakeState, clockStart: number): Promise<{ fx: any; out: { message: Message; target: PublishTarget }; body: any }> {
  const fx = loadFixture('celery-5.7', name).data;
  const { transport, published } = recordingTransport();
  const mailbox = new Mailbox({ transport, worker: fakeWorker(state), clock: new LamportClock(clockStart) });
  await mailbox.handleMessage(requestOf(fx));
  assert.equal(published.length, 1, `${name}: one reply`);
  const out = published[0]!;
  return { fx, out, body: decodeBody(out.message) };
}

const answers = (fx: { python_api_return_value: Record<string, unknown> }) => fx.python_api_return_value[NODE];

describe('replies match the Celery 5.7 fixtures', () => {
  const cases: [string, (fx: never) => FakeState][] = [
    ['pidbox-inspect-ping', () => ({})],
    ['pidbox-control-ping-destination', () => ({})],
    ['pidbox-inspect-active', () => ({})],
    ['pidbox-inspect-reserved', () => ({})],
    ['pidbox-busy-inspect-active', (fx) => ({ active: answers(fx) as RequestInfo[] })],
    ['pidbox-busy-inspect-reserved', (fx) => ({ reserved: answers(fx) as RequestInfo[] })],
    ['pidbox-inspect-scheduled', (fx) => ({ scheduled: (answers(fx) as { eta: string; request: RequestInfo }[]).map(({ eta, request }) => ({ eta, request })) })],
    ['pidbox-inspect-registered', (fx) => ({ tasks: [...(answers(fx) as string[])].reverse().concat(['celery.chord_unlock', 'celery.backend_cleanup']) })],
    ['pidbox-inspect-active_queues', (fx) => ({ queues: answers(fx) as Record<string, unknown>[] })],
    ['pidbox-inspect-conf', (fx) => ({ conf: answers(fx) as Record<string, unknown> })],
    ['pidbox-control-rate_limit', () => ({ tasks: ['wirefx.add'] })],
    ['pidbox-control-revoke-reply', () => ({})],
    ['pidbox-control-unknown-command', () => ({})],
    [
      'pidbox-busy-inspect-query_task',
      (fx) => {
        const found = answers(fx) as Record<string, [string, RequestInfo]>;
        const pick = (s: string) => Object.values(found).filter(([st]) => st === s).map(([, info]) => info);
        return { active: pick('active'), reserved: pick('reserved') };
      },
    ],
  ];
  for (const [name, state] of cases) {
    test(name, async () => {
      const fx = loadFixture('celery-5.7', name).data;
      const expected = replyOf(fx);
      const requestClock = fx.requests[0].envelope.headers.clock as number;
      const { out, body } = await replay(name, state(fx as never), requestClock);
      assert.deepEqual(body, expected.body);
      assert.deepEqual(out.message.headers, expected.envelope.headers, 'headers {ticket, clock} with the same clock arithmetic');
      assert.deepEqual(out.target, {
        exchange: 'reply.celery.pidbox',
        routingKey: expected.envelope.properties.delivery_info.routing_key,
        exchangeType: 'direct',
        exchangeDeclaration: { type: 'direct', durable: false },
      });
      const envelope = JSON.parse(encodeRedisEnvelope(out.message, { exchange: out.target.exchange, routingKey: out.target.routingKey, deliveryTag: 'x' }));
      assert.deepEqual(Object.keys(envelope), Object.keys(expected.envelope));
      assert.deepEqual(Object.keys(envelope.properties), Object.keys(expected.envelope.properties));
      assert.equal(envelope.properties.delivery_mode, 1);
    });
  }

  test('pidbox-inspect-stats: same keys in the same order, clock as a string', async () => {
    const { body, fx } = await replay('pidbox-inspect-stats', {}, 30);
    const expected = replyOf(fx).body[NODE];
    const ours = body[NODE];
    assert.deepEqual(Object.keys(ours), Object.keys(expected));
    assert.deepEqual(Object.keys(ours.rusage), Object.keys(expected.rusage));
    assert.equal(ours.pid, process.pid);
    assert.equal(ours.clock, '31');
  });

  test('pidbox-revoke (no reply wanted): flags the id, publishes nothing', async () => {
    const fx = loadFixture('celery-5.7', 'pidbox-revoke').data;
    const { transport, published } = recordingTransport();
    const worker = fakeWorker();
    const mailbox = new Mailbox({ transport, worker });
    await mailbox.handleMessage(requestOf(fx));
    assert.equal(published.length, 0);
    assert.deepEqual(worker.revoked.toList(), ['73831b12-817d-462e-b357-70daa0d6ff04']);
    assert.deepEqual(worker.calls, ['markRevoked 73831b12-817d-462e-b357-70daa0d6ff04']);
  });

  test('pidbox-control-shutdown-other-node: not addressed, nothing happens', async () => {
    const fx = loadFixture('celery-5.7', 'pidbox-control-shutdown-other-node').data;
    const { transport, published } = recordingTransport();
    const worker = fakeWorker();
    await new Mailbox({ transport, worker }).handleMessage(requestOf(fx));
    assert.equal(published.length, 0);
    assert.deepEqual(worker.calls, []);
  });

  test('pidbox-mingle-hello from another node: merges and replies {revoked, clock}', async () => {
    const fx = loadFixture('celery-5.7', 'pidbox-mingle-hello').data;
    const { transport, published } = recordingTransport();
    const worker = { ...fakeWorker(), hostname: 'other@node' };
    worker.revoked.add('r1');
    await new Mailbox({ transport, worker, clock: new LamportClock(0) }).handleMessage(requestOf(fx));
    assert.deepEqual(decodeBody(published[0]!.message), { 'other@node': { revoked: ['r1'], clock: 3 } });
  });
});
