// The rpc:// backend's own rules on the in-process transport: a state goes to the destination's
// reply_to with the task id as correlation_id (transient unless result_persistent), nowhere
// without a reply_to; the caller keeps the latest state per task; groups are refused as Celery
// refuses them. (The interop test runs it against Python Celery on RabbitMQ.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBackend } from '../../src/backend/index.js';
import { RpcBackend } from '../../src/backend/rpc/rpc-backend.js';
import { buildTaskMeta } from '../../src/protocol/result-meta.js';
import { MemoryTransport } from '../../src/transport/memory.js';
import type { Message } from '../../src/protocol/message.js';

test('states reach the caller through its reply queue; the latest one wins', async () => {
  const transport = new MemoryTransport();
  const caller = new RpcBackend(() => transport, { replyQueue: 'caller-oid' });
  const worker = new RpcBackend(() => transport, { replyQueue: 'worker-oid', persistent: true });
  await caller.prepareReplies();
  const seen: Message[] = [];
  transport.consume(['spy'], { prefetch: 0 }, (d) => seen.push(d.message));
  const destination = { replyTo: 'caller-oid', correlationId: 't1' };
  assert.equal((await caller.getMeta('t1')).status, 'PENDING');
  const waiting = caller.waitFor('t1', { timeoutMs: 2000 });
  await worker.storeResult(buildTaskMeta({ taskId: 't1', status: 'STARTED', result: { pid: 1 } }), destination);
  await worker.storeResult(buildTaskMeta({ taskId: 't1', status: 'SUCCESS', result: 42, dateDone: new Date() }), destination);
  const meta = await waiting;
  assert.equal(meta.status, 'SUCCESS');
  assert.equal(meta.result, 42);
  assert.equal((await caller.getMeta('t1')).status, 'SUCCESS');
  assert.equal(await worker.storeResult(buildTaskMeta({ taskId: 't2', status: 'SUCCESS', result: 1 }), { replyTo: null, correlationId: null }), true, 'no reply_to: nothing sent');
  await worker.storeResult(buildTaskMeta({ taskId: 't3', status: 'SUCCESS', result: 1 }), { replyTo: 'spy', correlationId: 't3' });
  await new Promise((r) => setImmediate(r));
  assert.equal(seen[0]!.properties.correlation_id, 't3');
  assert.equal(seen[0]!.properties.delivery_mode, 2, 'result_persistent');
  await assert.rejects(caller.saveGroup('g', [['g', null], null] as never), /save_group is not supported/);
  await caller.close();
  await transport.close();
});

test('createBackend: rpc:// needs the app, which gives it the transport', () => {
  assert.throws(() => createBackend('rpc://'), /needs the app/);
  assert.ok(createBackend('rpc://', {}, { transport: () => new MemoryTransport(), replyQueue: 'x' }) instanceof RpcBackend);
});
