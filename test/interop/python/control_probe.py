"""Python-side probes for the remote-control interop tests: run the real ``celery`` CLI in-process
(click's CliRunner, the same code path as the ``celery`` command) and consume events with
``app.events.Receiver`` as ``celery events`` and Flower do."""
import json
import time

from click.testing import CliRunner
from celery.bin.celery import celery as celery_cli

from interop_app import app


def run_cli(*args):
    """``celery -A interop_app <args>``: exit code and output."""
    result = CliRunner().invoke(celery_cli, ['-A', 'interop_app', *args], catch_exceptions=False)
    return {'exit_code': result.exit_code, 'output': result.output}


def receive_events(node, want_types, timeout=15.0):
    """Events from ``node`` until every type in ``want_types`` was seen; notes which arrived in
    one ``task.multi`` batch (same clock run) by recording the raw routing keys."""
    seen = []
    deadline = time.monotonic() + timeout
    with app.connection_for_read() as conn:
        recv = app.events.Receiver(conn, handlers={'*': lambda ev: on_event(ev)})

        def on_event(ev):
            if ev.get('hostname') == node:
                seen.append(ev)
            types = {e['type'] for e in seen}
            if set(want_types) <= types or time.monotonic() > deadline:
                recv.should_stop = True

        try:
            recv.capture(limit=None, timeout=timeout, wakeup=True)
        except Exception as exc:  # socket.timeout when nothing arrives
            seen.append({'type': 'error', 'repr': repr(exc)})
    return seen


def dumps(value):
    print(json.dumps(value, default=repr))
