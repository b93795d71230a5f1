// OpenTelemetry spans for Celery tasks, named, attributed and propagated as Python's
// opentelemetry-instrumentation-celery does (`CeleryInstrumentor._trace_before_publish`,
// `_trace_prerun`, `_trace_postrun`, `_trace_failure`, `_trace_retry`): a PRODUCER span
// `apply_async/<task>` around the publish whose context is injected into the message headers
// (`traceparent`, beside `id` and `task`), and a CONSUMER span `run/<task>` while the task runs,
// its parent extracted from those headers. `@opentelemetry/api` is an optional peer dependency,
// imported only here and only when asked; without a registered tracer provider nothing happens.
import type * as OtelApi from '@opentelemetry/api';
import { VERSION } from '../version.js';

type Api = typeof OtelApi;
export type SpanAttributes = Record<string, string | number | boolean | string[] | number[]>;

/** What a running task's span is told: its failure or retry reason, its final attributes. */
export interface TaskSpan {
  /** `_trace_failure`: status ERROR with `str(exception)`, and the exception recorded. */
  failed(error: unknown, description: string): void;
  /** `_trace_retry`: `celery.retry.reason`. */
  retried(reason: string): void;
  /** `_trace_postrun`: the request's attributes, set when the task has finished. */
  finish(attributes: SpanAttributes): void;
}

export class CeleryTracing {
  private readonly tracer: OtelApi.Tracer;

  private constructor(private readonly api: Api) {
    // The span scope Python's instrumentation uses would be its module name; ours is the package.
    this.tracer = api.trace.getTracer('ts-celery', VERSION);
  }

  /**
   * Whether anything registered a tracer provider (or context manager, propagator) with the
   * OpenTelemetry API — read from the API's own global slot, so nothing is imported when not.
   */
  static registered(): boolean {
    const slot = (globalThis as Record<symbol, { trace?: unknown } | undefined>)[Symbol.for('opentelemetry.js.api.1')];
    return slot?.trace !== undefined;
  }

  /** The API when `@opentelemetry/api` is installed, else null (then tracing is off for good). */
  static async load(): Promise<CeleryTracing | null> {
    try {
      return new CeleryTracing(await import('@opentelemetry/api'));
    } catch {
      return null;
    }
  }

  /** Run `publish` inside a PRODUCER span; its context is written into `headers` first. */
  async producer<T>(taskName: string, attributes: SpanAttributes, headers: Record<string, unknown>, publish: () => Promise<T>): Promise<T> {
    const { api } = this;
    const span = this.tracer.startSpan(`apply_async/${taskName}`, { kind: api.SpanKind.PRODUCER, attributes });
    const ctx = api.trace.setSpan(api.context.active(), span);
    api.propagation.inject(ctx, headers);
    try {
      return await api.context.with(ctx, publish);
    } finally {
      span.end();
    }
  }

  /** Run `run` inside a CONSUMER span whose parent is the context carried in `headers`. */
  async consumer<T>(taskName: string, headers: Record<string, unknown>, run: (span: TaskSpan) => Promise<T>): Promise<T> {
    const { api } = this;
    const parent = api.propagation.extract(api.ROOT_CONTEXT, headers, stringGetter);
    const span = this.tracer.startSpan(`run/${taskName}`, { kind: api.SpanKind.CONSUMER }, parent);
    const handle: TaskSpan = {
      failed: (error, description) => {
        if (!span.isRecording()) return;
        if (error instanceof Error) span.recordException(error);
        span.setStatus({ code: api.SpanStatusCode.ERROR, message: description });
      },
      retried: (reason) => {
        if (span.isRecording()) span.setAttribute('celery.retry.reason', reason);
      },
      finish: (attributes) => {
        if (span.isRecording()) span.setAttributes(attributes);
      },
    };
    try {
      return await api.context.with(api.trace.setSpan(parent, span), () => run(handle));
    } finally {
      span.end();
    }
  }

  /** `trace_id` / `span_id` of the active span, for JSON log lines; undefined outside a span. */
  logFields(): { trace_id: string; span_id: string } | undefined {
    const span = this.api.trace.getActiveSpan();
    if (!span) return undefined;
    const c = span.spanContext();
    return this.api.isSpanContextValid(c) ? { trace_id: c.traceId, span_id: c.spanId } : undefined;
  }
}

/** Header values as text (Celery's getter coerces non-strings the same way). */
const stringGetter: OtelApi.TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    return Array.isArray(value) ? value.map(String) : String(value);
  },
};
