// OpenTelemetry spans on the in-memory broker with a real SDK (NodeTracerProvider, in-memory
// exporter): apply_async/<task> PRODUCER spans carry their context in the message headers,
// run/<task> CONSUMER spans continue it; tasks sent from a task, retries and chain steps keep
// their parents; a failure marks the span; JSON log lines carry trace_id/span_id.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Celery } from '../../src/app.js';
import { chain } from '../../src/index.js';
import { createLogger } from '../../src/log.js';
import { CeleryTracing } from '../../src/observe/celery-tracing.js';
import { Worker } from '../../src/worker/worker.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();

const app = new Celery({ broker_url: 'memory://', result_backend: 'memory://' });
const add = app.task('t.add', (a: number, b: number) => a + b);
app.task('t.outer', async (n: number) => {
  const inner = await app.sendTask('t.add', [n, 1]);
  return inner.id;
});
app.task({ name: 't.flaky', max_retries: 2 }, ({ ctx }) => {
  if (ctx.retries < 1) ctx.retry({ countdown: 0, exc: new RangeError('not yet') });
  return ctx.retries;
});
app.task('t.fail', () => {
  throw new TypeError('bad input');
});
const logLines: string[] = [];
app.task('t.logs', () => {
  log.info('inside the task');
  return 1;
});
const tracing = await CeleryTracing.load();
const log = createLogger({ format: 'json', write: (l) => logLines.push(l), context: () => tracing?.logFields() });
const worker = new Worker(app, { mingle: false, concurrency: 2, logger: createLogger({ level: 'critical' }) });
await worker.start();
after(async () => {
  await worker.stop();
  await provider.shutdown();
});

const spans = () => exporter.getFinishedSpans();
const named = (name: string) => spans().filter((s) => s.name === name);
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('send inside a span → apply_async PRODUCER child → run CONSUMER child, one trace; traceparent in the headers', async () => {
  exporter.reset();
  const root = trace.getTracer('test').startSpan('request');
  const r = await context.with(trace.setSpan(context.active(), root), () => app.sendTask('t.add', [2, 3]));
  root.end();
  assert.equal(await r.get({ timeout: 5 }), 5);
  await until(() => named('run/t.add').length === 1, 'the run span');
  const [publish] = named('apply_async/t.add');
  const [run] = named('run/t.add');
  assert.equal(publish!.kind, SpanKind.PRODUCER);
  assert.equal(run!.kind, SpanKind.CONSUMER);
  const traceId = root.spanContext().traceId;
  assert.equal(publish!.spanContext().traceId, traceId);
  assert.equal(run!.spanContext().traceId, traceId);
  assert.equal(parentOf(publish!), root.spanContext().spanId);
  assert.equal(parentOf(run!), publish!.spanContext().spanId);
  assert.equal(publish!.attributes['celery.action'], 'apply_async');
  assert.equal(publish!.attributes['messaging.message.id'], r.id);
  assert.equal(publish!.attributes['celery.task_name'], 't.add');
  assert.equal(run!.attributes['celery.action'], 'run');
  assert.equal(run!.attributes['celery.state'], 'SUCCESS');
  assert.equal(run!.attributes['messaging.message.id'], r.id);
  assert.equal(run!.attributes['celery.task_name'], 't.add');
  assert.equal(run!.attributes['messaging.destination'], 'celery');
});

test('a task sent from a task, a retry and a chain step are children of the run that sent them', async () => {
  exporter.reset();
  const outer = await app.sendTask('t.outer', [1]);
  const innerId = await outer.get({ timeout: 5 });
  const flaky = await app.sendTask('t.flaky', []);
  assert.equal(await flaky.get({ timeout: 5 }), 1);
  const last = await app.applyAsync(chain([add.s([1, 1]), add.s([10])]));
  assert.equal(await last.get({ timeout: 5 }), 12);
  await until(() => named('run/t.add').length === 3 && named('run/t.flaky').length === 2, 'every run span');

  const outerRun = named('run/t.outer')[0]!;
  const innerPublish = named('apply_async/t.add').find((s) => s.attributes['messaging.message.id'] === innerId)!;
  const innerRun = named('run/t.add').find((s) => s.attributes['messaging.message.id'] === innerId)!;
  assert.equal(parentOf(innerPublish), outerRun.spanContext().spanId);
  assert.equal(parentOf(innerRun), innerPublish.spanContext().spanId);
  assert.equal(innerRun.spanContext().traceId, outerRun.spanContext().traceId);

  const [firstRun, secondRun] = named('run/t.flaky').sort((a, b) => Number(a.attributes['celery.retries'] ?? 0) - Number(b.attributes['celery.retries'] ?? 0));
  assert.equal(firstRun!.attributes['celery.state'], 'RETRY');
  assert.match(String(firstRun!.attributes['celery.retry.reason']), /not yet/);
  const retryPublish = named('apply_async/t.flaky').find((s) => parentOf(s) === firstRun!.spanContext().spanId)!;
  assert.ok(retryPublish, 'the retry is published inside the first run');
  assert.equal(parentOf(secondRun!), retryPublish.spanContext().spanId);
  assert.equal(secondRun!.attributes['celery.retries'], 1);

  const stepRuns = named('run/t.add').filter((s) => s !== innerRun);
  const first = stepRuns.find((s) => s.attributes['messaging.message.id'] !== last.id)!;
  const second = stepRuns.find((s) => s.attributes['messaging.message.id'] === last.id)!;
  const stepPublish = named('apply_async/t.add').find((s) => s.attributes['messaging.message.id'] === last.id)!;
  assert.equal(parentOf(stepPublish), first.spanContext().spanId);
  assert.equal(parentOf(second), stepPublish.spanContext().spanId);
});

test('a failure sets status ERROR with the message and records the exception', async () => {
  exporter.reset();
  const r = await app.sendTask('t.fail', []);
  await assert.rejects(r.get({ timeout: 5 }));
  await until(() => named('run/t.fail').length === 1, 'the run span');
  const run = named('run/t.fail')[0]!;
  assert.equal(run.status.code, SpanStatusCode.ERROR);
  assert.equal(run.status.message, 'bad input');
  assert.equal(run.attributes['celery.state'], 'FAILURE');
  assert.equal(run.events[0]?.name, 'exception');
});

test('JSON log lines carry trace_id and span_id inside a span, and not outside', async () => {
  exporter.reset();
  logLines.length = 0;
  log.info('outside');
  const r = await app.sendTask('t.logs', []);
  await r.get({ timeout: 5 });
  await until(() => named('run/t.logs').length === 1, 'the run span');
  const run = named('run/t.logs')[0]!;
  const [outside, inside] = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(outside!.trace_id, undefined);
  assert.equal(inside!.trace_id, run.spanContext().traceId);
  assert.equal(inside!.span_id, run.spanContext().spanId);
});
