// Our worker on RabbitMQ when the broker drops the connection while it holds an ETA task: the
// held copy dies with the channel (RabbitMQ requeues it), the worker reconnects, forgets the stale
// copy and runs the redelivered one — once. New tasks flow after the reconnect. With
// worker_cancel_long_running_tasks_on_connection_loss a running acks_late task is cancelled instead.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import amqplib from 'amqplib';
import { Celery } from '../../src/app.js';
import { createLogger } from '../../src/log.js';
import { Worker } from '../../src/worker/worker.js';
import { pollUntil } from '../helpers/python.js';
import { uniqueToken } from '../helpers/redis.js';

const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672//';
const token = uniqueToken();
const queue = `wamqp-${token}`;
const connectionName = `${token}-worker`;
const lines: string[] = [];
const runs: number[] = [];

/** An app on its own queue, its broker connection named so that only it is closed below. */
function amqpApp(defaultQueue: string, name: string, extra: Record<string, unknown> = {}): Celery {
  return new Celery({
    broker_url: AMQP_URL,
    result_backend: 'memory://',
    task_default_queue: defaultQueue,
    broker_transport_options: { client_properties: { connection_name: name } },
    ...extra,
  });
}

/** The broker drops every connection named `name` (as a restarted or failing node would). */
async function closeConnections(name: string): Promise<void> {
  const run = promisify(execFile);
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_connections', 'pid', 'client_properties']);
  const ours = stdout.split('\n').filter((line) => line.includes(name)).map((line) => line.split('\t')[0]!);
  assert.ok(ours.length > 0, stdout);
  for (const pid of ours) await run('rabbitmqctl', ['close_connection', pid, 'test: broker went away']).catch(() => undefined);
}

async function deleteQueue(name: string): Promise<void> {
  const conn = await amqplib.connect(AMQP_URL);
  const ch = await conn.createChannel();
  await ch.deleteQueue(name).catch(() => undefined);
  await ch.deleteExchange(name).catch(() => undefined);
  await conn.close();
}

const app = amqpApp(queue, connectionName);
const count = app.task('wamqp.count', (n: number) => {
  runs.push(n);
  return n;
});
const worker = new Worker(app, { mingle: false, heartbeat: false, nodeName: `wamqp-${token}@localhost`, logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }) });
await worker.start();

after(async () => {
  await worker.stop();
  await deleteQueue(queue);
});

test('connection lost while an ETA task is held: it runs once after the reconnect', async () => {
  // The countdown must outlast the rabbitmqctl calls below (seconds each on a busy machine): had
  // the task run and its ack been in flight when the connection closed, RabbitMQ would rightly
  // deliver it again (at-least-once) and this test would see two runs for another reason.
  const held = await count.applyAsync([1], {}, { countdown: 10 });
  await pollUntil('the ETA task held', () => worker.scheduledRequests().length === 1);
  await closeConnections(connectionName);
  assert.deepEqual(runs, [], 'the connection was closed while the task was still held');
  await pollUntil('reconnected', () => lines.some((l) => l.includes('Connection to broker re-established')), { timeoutMs: 15_000 });
  assert.equal(await held.get({ timeout: 30 }), 1);
  // The stale copy is dropped at the reconnect or, if its ETA fires first, skipped at start. Its
  // ETA is past by now, so by the time a task sent afterwards has run, it would have run too.
  assert.equal(await (await count.delay(2)).get({ timeout: 10 }), 2);
  assert.deepEqual(runs, [1, 2], 'the stale held copy did not run as well');
});

test('worker_cancel_long_running_tasks_on_connection_loss: a running acks_late task is cancelled when the connection drops, and runs once more from the redelivered message', async () => {
  const cancelQueue = `wamqp-cancel-${token}`;
  const cancelConnection = `${token}-cancel`;
  const cancelLines: string[] = [];
  const started: string[] = [];
  const cancelApp = amqpApp(cancelQueue, cancelConnection, { worker_cancel_long_running_tasks_on_connection_loss: true });
  // The first run waits until it is cancelled; the redelivered one finishes.
  const long = cancelApp.task({ name: 'wamqp.long', acks_late: true }, async ({ ctx }) => {
    started.push(ctx.deliveryInfo.redelivered ? 'redelivered' : 'first');
    if (!ctx.deliveryInfo.redelivered) await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    return ctx.deliveryInfo.redelivered ? 'done' : 'aborted run';
  });
  const cancelWorker = new Worker(cancelApp, { mingle: false, heartbeat: false, nodeName: `wamqp-cancel-${token}@localhost`, logger: createLogger({ level: 'info', write: (l) => cancelLines.push(l) }) });
  await cancelWorker.start();
  try {
    const r = await long.delay();
    await pollUntil('the first run', () => started.length === 1);
    await closeConnections(cancelConnection);
    await pollUntil('the cancellation', () => cancelLines.some((l) => l.includes(`Task wamqp.long[${r.id}] cannot be acknowledged after a connection loss since late acknowledgement is enabled for it. Terminating it instead.`)));
    assert.equal(await r.get({ timeout: 30 }), 'done');
    assert.deepEqual(started, ['first', 'redelivered']);
    // What the cancelled run returned after its abort was dropped (no "succeeded … 'aborted run'").
    assert.ok(cancelLines.every((l) => !l.includes('aborted run')), cancelLines.join('\n'));
  } finally {
    await cancelWorker.stop();
    await deleteQueue(cancelQueue);
  }
});
