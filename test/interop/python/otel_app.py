"""The interop app with OpenTelemetry: opentelemetry-sdk and opentelemetry-instrumentation-celery
set up as a Python service does, each finished span written as one JSON line to
``$OTEL_SPANS_DIR/spans-<pid>.jsonl`` (the test reads them; an in-memory exporter cannot cross
processes). Used as the Python worker (``celery -A otel_app worker``) and by producer snippets.
"""
import json
import os

from opentelemetry import trace
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from interop_app import make_app


class JsonLinesExporter(SpanExporter):
    def __init__(self, directory):
        self.path = os.path.join(directory, f'spans-{os.getpid()}.jsonl')

    def export(self, spans):
        with open(self.path, 'a', encoding='utf-8') as out:
            for span in spans:
                ctx = span.get_span_context()
                out.write(json.dumps({
                    'name': span.name,
                    'kind': span.kind.name,
                    'trace_id': format(ctx.trace_id, '032x'),
                    'span_id': format(ctx.span_id, '016x'),
                    'parent_span_id': format(span.parent.span_id, '016x') if span.parent else None,
                    'status': span.status.status_code.name,
                    'attributes': {k: (list(v) if isinstance(v, tuple) else v) for k, v in span.attributes.items()},
                }) + '\n')
        return SpanExportResult.SUCCESS


provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(JsonLinesExporter(os.environ['OTEL_SPANS_DIR'])))
trace.set_tracer_provider(provider)
CeleryInstrumentor().instrument(tracer_provider=provider)

app = make_app('otel')


@app.task(name='py.otel_leaf')
def otel_leaf(n):
    return n * 2


@app.task(name='py.otel_bounce')
def otel_bounce(ts_queue):
    """Python → TypeScript from inside a Python run span (the trace goes back to TypeScript)."""
    return app.send_task('ts.otel_leaf', args=[1], queue=ts_queue).id
