"""A Python Celery producer driving OUR TypeScript worker (test/interop/worker-python-producer.test.ts).

Everything is observed the way a Python user would: ``AsyncResult.get()``, ``.state``,
``.info``, ``.traceback`` and the exception ``get()`` raises. Each case is recorded on its own
(its error with the Python traceback if it crashed), and one JSON line is printed at the end.

Environment (besides interop_app's BROKER_URL, RESULT_BACKEND, KEYPREFIX, DEFAULT_QUEUE):
  QUEUE_A, QUEUE_B   extra queues the worker consumes (-Q)
  PRIO_QUEUE         the queue preload() fills before the worker starts
  TOKEN              unique per test file (Redis keys for gates and marks)
"""
import json
import os
import time
import traceback
from datetime import datetime, timedelta, timezone

import redis as redis_py

from interop_app import app

KEYPREFIX = os.environ.get('KEYPREFIX', '')
TOKEN = os.environ['TOKEN']
r_client = redis_py.Redis.from_url(os.environ['BROKER_URL'])


# Producer-side stubs: how a Python code base calls tasks implemented elsewhere, by their names.
@app.task(name='ts.add')
def add(a, b):
    raise NotImplementedError('runs on the TypeScript worker')


@app.task(name='ts.render')
def render(report_id, format='pdf'):
    raise NotImplementedError('runs on the TypeScript worker')


class QuotaExceeded(Exception):
    """What ts.fail_quota's error names as its Python class (pythonModule = 'worker_producer')."""


def _raised(result, timeout=10):
    """What get() raised, as a Python user inspects it."""
    try:
        value = result.get(timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - we record whatever Python raises
        return {
            'raised': True,
            'type': type(exc).__name__,
            'module': type(exc).__module__,
            'mro': [c.__name__ for c in type(exc).__mro__],
            'str': str(exc),
            'args': [a if isinstance(a, (str, int, float, bool, type(None))) else repr(a) for a in exc.args],
            'state': result.state,
            'failed': result.failed(),
            'traceback_type': type(result.traceback).__name__,
            'traceback': result.traceback,
        }
    return {'raised': False, 'value': value, 'state': result.state}


def _type_names(value):
    if isinstance(value, list):
        return [_type_names(v) for v in value]
    if isinstance(value, dict):
        return {k: _type_names(v) for k, v in value.items()}
    return type(value).__name__


JSON_ARGS = [
    None, True, False, 0, -7, 2 ** 53 - 1, -(2 ** 53 - 1), 1.5, -0.001, 1e300, 5e-324,
    'plain', '', 'héllo wörld ✓ 中文 𝄞 😀', 'quote " backslash \\ slash / newline \n tab \t nul \x00 bell \x07',
    [], [1, [2, [3, []]]], {}, {'nested': {'list': [1, 'two', None, {'x': False}], 'empty': {}}},
]
JSON_KWARGS = {
    'none': None, 'int': 42, 'float': 2.5, 'str': 'ü', 'list': [1, 2], 'dict': {'k': 'v'},
    'bool': True, 'unicode key ✓': 1, 'emoji 😀': ['🎉'],
}


def case_json():
    r = app.send_task('ts.echo', args=JSON_ARGS, kwargs=JSON_KWARGS)
    got = r.get(timeout=10)
    expected = {'args': JSON_ARGS, 'kwargs': JSON_KWARGS}
    return {
        'equal': got == expected,
        'types_equal': _type_names(got) == _type_names(expected),
        'got': got,
        'expected': expected,
        'state': r.state,
        'successful': r.successful(),
        'date_done_type': type(r.date_done).__name__,
        'date_done_aware': getattr(r.date_done, 'tzinfo', None) is not None,
        'date_done_age': abs(time.time() - r.date_done.timestamp()) if hasattr(r.date_done, 'timestamp') else None,
    }


def case_apply_async():
    return {
        'delay': add.delay(2, 3).get(timeout=10),
        'apply_async': add.apply_async((20, 22)).get(timeout=10),
        'signature': app.signature('ts.add', args=(1, 1)).apply_async().get(timeout=10),
        'render_kwargs': render.apply_async(kwargs={'report_id': 9}).get(timeout=10),
    }


def case_kwargs():
    calls = {
        'positional': app.send_task('ts.render', args=[42]),
        'positional_both': app.send_task('ts.render', args=[42, 'csv']),
        'keywords': app.send_task('ts.render', kwargs={'report_id': 7, 'format': 'csv'}),
        'mixed': app.send_task('ts.render', args=[8], kwargs={'format': 'csv'}),
    }
    return {name: r.get(timeout=10) for name, r in calls.items()}


def case_failures():
    calls = {
        'range_error': app.send_task('ts.fail_range', args=['bad range 42']),
        'custom_error': app.send_task('ts.fail_custom', args=['balance 0 < 10']),
        'chosen_class': app.send_task('ts.fail_quota', args=['quota 100 reached']),
        'missing_param': app.send_task('ts.render'),
        'missing_positional': app.send_task('ts.add', args=[1]),
        'unexpected_kwarg': app.send_task('ts.add', args=[1, 2], kwargs={'c': 3}),
        'duplicate_argument': app.send_task('ts.render', args=[1], kwargs={'report_id': 2}),
        'schema_report_id': app.send_task('ts.render', args=['x']),
        'schema_format': app.send_task('ts.render', args=[1, 'docx']),
    }
    raised = {name: _raised(r) for name, r in calls.items()}
    try:
        calls['chosen_class'].get(timeout=10)
    except QuotaExceeded:
        raised['chosen_class']['caught_as_own_class'] = True
    return raised


BIG = 2 ** 60 + 1


def case_bigint():
    """Integers beyond 2**53 (ids, amounts in cents) survive every path exactly."""
    from celery import chain, chord
    big_args = [BIG, -(2 ** 63), 2 ** 64 - 1, [2 ** 53 + 1], {'id': 2 ** 70}]
    big_kwargs = {'snowflake': 1541815603606036480, 'cents': 10 ** 20}
    echo = app.send_task('ts.echo', args=big_args, kwargs=big_kwargs).get(timeout=10)
    chained = chain(app.signature('ts.add', args=(BIG, 2 ** 60)), app.signature('ts.add', args=(2 ** 62,))).apply_async()
    chorded = chord([app.signature('ts.add', args=(BIG, i)) for i in (2 ** 55, 2 ** 56)], app.signature('ts.echo')).apply_async()
    retried = app.send_task('ts.retry_once', args=[BIG], kwargs={'k': 2 ** 65})
    return {
        'echo_equal': echo == {'args': big_args, 'kwargs': big_kwargs},
        'echo': repr(echo),
        'sum': repr(app.send_task('ts.add', args=[BIG, 2 ** 60]).get(timeout=10)),
        'chain': repr(chained.get(timeout=10)),
        'chain_expected': repr(BIG + 2 ** 60 + 2 ** 62),
        'chord': repr(chorded.get(timeout=10)),
        'chord_expected': repr({'args': [[BIG + 2 ** 55, BIG + 2 ** 56]], 'kwargs': {}}),
        'retried': repr(retried.get(timeout=10)),
        'retried_expected': repr({'args': [BIG], 'kwargs': {'k': 2 ** 65}, 'retries': 1}),
        # A handler that adds a bigint to a number, or a zod number schema, fails loudly.
        'mixed': _raised(app.send_task('ts.add', args=[BIG, 0])),
        'schema': _raised(app.send_task('ts.render', args=[BIG])),
    }


def case_progress():
    gate = f'{KEYPREFIX}gate:progress:{TOKEN}'
    r = app.send_task('ts.progress', args=[gate, 3])
    deadline = time.monotonic() + 15
    while r.state != 'PROGRESS':
        if time.monotonic() > deadline:
            raise AssertionError(f'no PROGRESS state within 15 s (state {r.state})')
        time.sleep(0.02)
    seen = {'state': r.state, 'info': r.info, 'ready': r.ready(), 'result': r.result}
    r_client.set(gate, '1', ex=300)
    value = r.get(timeout=10)
    return {'seen': seen, 'value': value, 'final_state': r.state, 'final_info': r.info}


def send_scheduled():
    """Countdown/ETA tasks go out first so their wait overlaps the other cases."""
    sent = {}
    t0 = time.time()
    r = app.send_task('ts.info', args=['countdown'], countdown=1.5)
    sent['countdown'] = (t0, time.time(), r)
    t0 = time.time()
    r = app.send_task('ts.info', args=['eta'], eta=datetime.fromtimestamp(t0, timezone.utc) + timedelta(seconds=1.5))
    sent['eta'] = (t0, time.time(), r)
    return sent


def case_scheduled(sent):
    out = {}
    for name, (t0, t1, r) in sent.items():
        state_before = r.state
        value = r.get(timeout=15)
        out[name] = {'sent_at': t0, 'sent_by': t1, 'state_before': state_before, 'value': value, 'state': r.state}
    return out


def case_expires():
    past = app.send_task('ts.info', args=['expired'], expires=datetime.now(timezone.utc) - timedelta(seconds=30))
    future = app.send_task('ts.info', args=['not-expired'], expires=60)
    return {'past': _raised(past), 'past_id': past.id, 'future': _raised(future)}


def case_priority_header():
    r = app.send_task('ts.info', args=['prio'], priority=7)
    return r.get(timeout=10)


def case_queues():
    from celery.utils.nodenames import worker_direct
    return {
        'a': app.send_task('ts.info', args=['a'], queue=os.environ['QUEUE_A']).get(timeout=10),
        'b': app.send_task('ts.info', args=['b'], queue=os.environ['QUEUE_B']).get(timeout=10),
        'default': app.send_task('ts.info', args=['default']).get(timeout=10),
        # worker_direct: the queue of one worker, by its node name (the worker runs worker_direct=True).
        'direct': app.send_task('ts.info', args=['direct'], queue=worker_direct(os.environ['NODE_NAME'])).get(timeout=10),
    }


def _wait_key(key, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        value = r_client.get(key)
        if value is not None:
            return value.decode()
        if time.monotonic() > deadline:
            raise AssertionError(f'{key} was not set within {timeout} s')
        time.sleep(0.02)


def case_ignore_result():
    key1 = f'{KEYPREFIX}mark:{TOKEN}:call'
    key2 = f'{KEYPREFIX}mark:{TOKEN}:declared'
    by_call = app.send_task('ts.mark', args=[key1, 'v1'], ignore_result=True)
    by_decl = app.send_task('ts.mark_ignored', args=[key2, 'v2'])
    return {
        'by_call': {'id': by_call.id, 'mark': _wait_key(key1), 'state': by_call.state, 'result': by_call.result},
        'declared': {'id': by_decl.id, 'mark': _wait_key(key2), 'state': by_decl.state, 'result': by_decl.result},
    }


def case_unknown():
    before = app.send_task('ts.echo', args=['before'])
    unknown = app.send_task('ts.no_such_task', args=[1])
    after = app.send_task('ts.echo', args=['after'])
    return {
        'unknown': _raised(unknown),
        'unknown_id': unknown.id,
        'before': before.get(timeout=10),
        'after': after.get(timeout=10),
        # More work after the bad message: the worker is still consuming.
        'later': add.delay(40, 2).get(timeout=10),
    }


def preload():
    """Fill PRIO_QUEUE before the worker starts: 2 × priority 9, 1 × 5, 1 × 0 (Redis: 0 first)."""
    series = f'prio-{TOKEN}'
    ids = {}
    for tag, priority in [('p9-first', 9), ('p9-second', 9), ('p5', 5), ('p0', 0)]:
        ids[tag] = app.send_task('ts.seq', args=[series, tag], queue=os.environ['PRIO_QUEUE'], priority=priority).id
    print(json.dumps(ids))


def collect_preloaded(ids):
    return {tag: app.AsyncResult(task_id).get(timeout=10) for tag, task_id in ids.items()}


def run_all(preloaded_ids):
    results = {}

    def run(name, fn, *args):
        started = time.monotonic()
        try:
            results[name] = {'ok': True, 'value': fn(*args)}
        except Exception:  # noqa: BLE001 - reported to the TypeScript test
            results[name] = {'ok': False, 'error': traceback.format_exc()}
        results[name]['seconds'] = round(time.monotonic() - started, 3)

    scheduled = {}
    run('send_scheduled', lambda: scheduled.update(send_scheduled()))
    run('priority_order', collect_preloaded, preloaded_ids)
    run('json', case_json)
    run('apply_async', case_apply_async)
    run('kwargs', case_kwargs)
    run('unknown', case_unknown)
    run('failures', case_failures)
    run('bigint', case_bigint)
    run('progress', case_progress)
    run('expires', case_expires)
    run('priority_header', case_priority_header)
    run('queues', case_queues)
    run('ignore_result', case_ignore_result)
    run('scheduled', case_scheduled, scheduled)
    print(json.dumps(results))
