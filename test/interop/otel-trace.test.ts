// One OpenTelemetry trace across Python and TypeScript: a Python request span → Python
// `send_task` (opentelemetry-instrumentation-celery, its PRODUCER span) → OUR worker's
// run/<task> → a task it sends from there → a Python worker's run/<task> (instrumented again).
// Both sides use the real SDKs (Python: opentelemetry-sdk, spans written as JSON lines by the
// worker and the producer; ours: NodeTracerProvider with an in-memory exporter). Checked: the
// trace id is the same everywhere, each span's parent is the span before it, and our spans carry
// the names, kinds and attribute keys the Python instrumentation gives the same spans.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Celery } from '../../src/app.js';
import { createLogger } from '../../src/log.js';
import { Worker } from '../../src/worker/worker.js';
import { pollUntil, runPython, startPythonWorker, type PythonWorker } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';

const claim = claimRedis('otel-trace');
const { url, token, prefix } = claim;
const tsQueue = `otel-ts-${token}`;
const pyQueue = `otel-py-${token}`;

interface PySpan {
  name: string;
  kind: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  status: string;
  attributes: Record<string, unknown>;
}

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();

let spansDir: string;
let pyWorker: PythonWorker | undefined;
let worker: Worker | undefined;
let env: Record<string, string>;
let appRef: Celery;

before(async () => {
  spansDir = await mkdtemp(join(tmpdir(), 'otel-spans-'));
  env = { BROKER_URL: url, RESULT_BACKEND: url, KEYPREFIX: prefix, DEFAULT_QUEUE: pyQueue, OTEL_SPANS_DIR: spansDir };
  pyWorker = await startPythonWorker({ app: 'otel_app', queues: [pyQueue], nodeName: `otel-py-${token}@localhost`, env });
  const app = new Celery({
    broker_url: url,
    result_backend: url,
    broker_transport_options: { global_keyprefix: prefix },
    result_backend_transport_options: { global_keyprefix: prefix },
    task_default_queue: tsQueue,
  });
  // TS → Python: sent while our run span is active, so the Python run continues our trace.
  app.task('ts.otel_middle', async (n: number) => {
    const leaf = await app.sendTask('py.otel_leaf', [n], {}, { queue: pyQueue });
    return { leaf: leaf.id, value: await leaf.get({ timeout: 20 }) };
  });
  app.task('ts.otel_leaf', (n: number) => n + 1);
  appRef = app;
  worker = new Worker(app, { queues: [tsQueue], mingle: false, concurrency: 2, logger: createLogger({ level: 'critical' }) });
  await worker.start();
});

after(async () => {
  await worker?.stop();
  await pyWorker?.stop();
  await provider.shutdown();
  await claim.deleteKeys();
  await rm(spansDir, { recursive: true, force: true });
});

async function pythonSpans(): Promise<PySpan[]> {
  const files = (await readdir(spansDir)).filter((f) => f.endsWith('.jsonl'));
  const texts = await Promise.all(files.map((f) => readFile(join(spansDir, f), 'utf8')));
  return texts.flatMap((t) => t.split('\n').filter(Boolean).map((l) => JSON.parse(l) as PySpan));
}

const keys = (attributes: Record<string, unknown>) => Object.keys(attributes).sort();

test('Python request → Python send_task → our worker → our send → Python worker: one trace, parents in order', async () => {
  const run = await runPython(
    `
import json, otel_app
from opentelemetry import trace
tracer = trace.get_tracer('interop-test')
with tracer.start_as_current_span('request') as root:
    r = otel_app.app.send_task('ts.otel_middle', args=[21], queue=${JSON.stringify(tsQueue)})
    out = r.get(timeout=30)
ctx = root.get_span_context()
print(json.dumps({'trace_id': format(ctx.trace_id, '032x'), 'span_id': format(ctx.span_id, '016x'), 'id': r.id, 'out': out}))
`,
    env,
    60_000,
  );
  const root = run.json as { trace_id: string; span_id: string; id: string; out: { leaf: string; value: number } };
  assert.equal(root.out.value, 42);

  const py = await pollUntil('the Python worker to export run/py.otel_leaf', async () => {
    const spans = await pythonSpans();
    return spans.some((s) => s.name === 'run/py.otel_leaf') && spans.some((s) => s.name === 'apply_async/ts.otel_middle') ? spans : undefined;
  });
  const ours = exporter.getFinishedSpans();
  const one = <T extends { name: string }>(spans: T[], name: string): T => {
    const found = spans.filter((s) => s.name === name);
    assert.equal(found.length, 1, `one ${name} span, got ${found.length}`);
    return found[0]!;
  };
  const pyPublish = one(py, 'apply_async/ts.otel_middle');
  const tsRun = one<ReadableSpan>(ours, 'run/ts.otel_middle');
  const tsPublish = one<ReadableSpan>(ours, 'apply_async/py.otel_leaf');
  const pyRun = one(py, 'run/py.otel_leaf');

  for (const s of [pyPublish, pyRun]) assert.equal(s.trace_id, root.trace_id, `${s.name} is in the request's trace`);
  for (const s of [tsRun, tsPublish]) assert.equal(s.spanContext().traceId, root.trace_id, `${s.name} is in the request's trace`);
  assert.equal(pyPublish.parent_span_id, root.span_id);
  assert.equal(tsRun.parentSpanContext?.spanId, pyPublish.span_id, 'our run span continues the Python publish');
  assert.equal(tsPublish.parentSpanContext?.spanId, tsRun.spanContext().spanId);
  assert.equal(pyRun.parent_span_id, tsPublish.spanContext().spanId, 'the Python run continues our publish');

  // Named, kinded and attributed as the Python instrumentation does the same spans.
  assert.equal(pyPublish.kind, 'PRODUCER');
  assert.equal(tsPublish.kind, SpanKind.PRODUCER);
  assert.equal(pyRun.kind, 'CONSUMER');
  assert.equal(tsRun.kind, SpanKind.CONSUMER);
  assert.deepEqual(keys(tsPublish.attributes), keys(pyPublish.attributes));
  assert.deepEqual(keys(tsRun.attributes), keys(pyRun.attributes));
  assert.equal(tsRun.attributes['messaging.message.id'], root.id);
  assert.equal(tsRun.attributes['celery.state'], pyRun.attributes['celery.state']);
  assert.equal(tsRun.attributes['celery.delivery_info'], String(pyRun.attributes['celery.delivery_info']).replace(pyQueue, tsQueue));
});

test('a TypeScript request span → our send → Python worker → its send → our worker: the same trace back again', async () => {
  exporter.reset();
  const root = trace.getTracer('interop-test').startSpan('ts-request');
  const bounce = await context.with(trace.setSpan(context.active(), root), () => appRef.sendTask<string>('py.otel_bounce', [tsQueue], {}, { queue: pyQueue }));
  root.end();
  const leafId = await bounce.get({ timeout: 20 });
  assert.equal(await appRef.AsyncResult(leafId).get({ timeout: 20 }), 2);
  const traceId = root.spanContext().traceId;
  const ours = await pollUntil('our run/ts.otel_leaf span', () => {
    const spans = exporter.getFinishedSpans();
    return spans.some((s) => s.name === 'run/ts.otel_leaf') ? spans : undefined;
  });
  const py = await pollUntil('the Python run/py.otel_bounce span', async () => {
    const spans = (await pythonSpans()).filter((s) => s.trace_id === traceId);
    return spans.some((s) => s.name === 'run/py.otel_bounce') && spans.some((s) => s.name === 'apply_async/ts.otel_leaf') ? spans : undefined;
  });
  const tsPublish = ours.find((s) => s.name === 'apply_async/py.otel_bounce')!;
  const pyRun = py.find((s) => s.name === 'run/py.otel_bounce')!;
  const pyPublish = py.find((s) => s.name === 'apply_async/ts.otel_leaf')!;
  const tsRun = ours.find((s) => s.name === 'run/ts.otel_leaf')!;
  assert.equal(tsPublish.parentSpanContext?.spanId, root.spanContext().spanId);
  assert.equal(pyRun.parent_span_id, tsPublish.spanContext().spanId);
  assert.equal(pyPublish.parent_span_id, pyRun.span_id);
  assert.equal(tsRun.parentSpanContext?.spanId, pyPublish.span_id);
  assert.equal(tsRun.spanContext().traceId, traceId);
  assert.equal(tsRun.attributes['messaging.message.id'], leafId);
});
