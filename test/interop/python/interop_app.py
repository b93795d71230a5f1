"""The Celery app the interop tests run (worker: ``celery -A interop_app worker``; producers:
``from interop_app import app``).

Configured ONLY from environment variables, so each test file isolates itself:

  BROKER_URL          broker (redis://127.0.0.1:6379/<10..15>)
  RESULT_BACKEND      result backend (optional)
  KEYPREFIX           broker_transport_options.global_keyprefix and
                      result_backend_transport_options.global_keyprefix
  VISIBILITY_TIMEOUT  broker_transport_options.visibility_timeout (seconds)
  DEFAULT_QUEUE       task_default_queue (default "celery")
  MASTER_NAME         master_name in both transport options (sentinel:// URLs)
  TASK_QUEUES         optional JSON list of {"name", "exchange", "exchange_type", "routing_key",
                      "queue_arguments"} declared as task_queues (the default queue is added to it)
"""
import json
import os
import time
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from celery import Celery
from kombu import Exchange, Queue


def make_app(name='interop', **overrides):
    """A Celery app configured from the environment (plus ``overrides``, e.g. task_protocol=1)."""
    broker_opts = {}
    backend_opts = {}
    if os.environ.get('KEYPREFIX'):
        broker_opts['global_keyprefix'] = os.environ['KEYPREFIX']
        backend_opts['global_keyprefix'] = os.environ['KEYPREFIX']
    if os.environ.get('MASTER_NAME'):
        broker_opts['master_name'] = os.environ['MASTER_NAME']
        backend_opts['master_name'] = os.environ['MASTER_NAME']
    if os.environ.get('VISIBILITY_TIMEOUT'):
        broker_opts['visibility_timeout'] = float(os.environ['VISIBILITY_TIMEOUT'])

    new = Celery(name, set_as_current=(name == 'interop'))
    new.conf.update(
        broker_url=os.environ['BROKER_URL'],
        result_backend=os.environ.get('RESULT_BACKEND') or None,
        broker_transport_options=broker_opts,
        result_backend_transport_options=backend_opts,
        task_default_queue=os.environ.get('DEFAULT_QUEUE', 'celery'),
        broker_connection_retry_on_startup=True,
        # One message at a time: the visibility tests count on the worker not prefetching
        # a second message behind a slow one.
        worker_prefetch_multiplier=1,
        timezone='UTC',
        enable_utc=True,
    )
    if os.environ.get('TASK_QUEUES'):
        default = new.conf.task_default_queue
        queues = [Queue(default, Exchange(default), routing_key=default)]
        for q in json.loads(os.environ['TASK_QUEUES']):
            queues.append(Queue(q['name'], Exchange(q.get('exchange', q['name']),
                                                    type=q.get('exchange_type', 'direct')),
                                routing_key=q.get('routing_key', q['name']),
                                queue_arguments=q.get('queue_arguments')))
        new.conf.task_queues = queues
    new.conf.update(overrides)
    return new


app = make_app()


def _jsonable(value):
    """request fields as JSON (datetimes as ISO strings, unknown objects as repr)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return repr(value)


@app.task(name='interop.add')
def add(a, b):
    return a + b


@app.task(name='interop.echo')
def echo(*args, **kwargs):
    return {'args': list(args), 'kwargs': kwargs}


def _describe(value):
    """The Python type of a decoded argument (str with its length in code points)."""
    if value is None:
        return 'None'
    if isinstance(value, bool):
        return 'bool'
    if isinstance(value, int):
        return 'int'
    if isinstance(value, float):
        return 'float'
    if isinstance(value, str):
        return f'str:{len(value)}'
    if isinstance(value, (list, tuple)):
        return [_describe(v) for v in value]
    if isinstance(value, dict):
        return {k: _describe(v) for k, v in value.items()}
    return type(value).__name__


@app.task(name='interop.types')
def types(*args, **kwargs):
    """How the arguments arrived in Python: type names instead of values."""
    return {'args': [_describe(a) for a in args], 'kwargs': {k: _describe(v) for k, v in kwargs.items()}}


@app.task(name='interop.fail')
def fail(msg):
    raise ValueError(msg)


@app.task(name='interop.progress', bind=True)
def progress(self, n, delay):
    for i in range(n):
        self.update_state(state='PROGRESS', meta={'current': i, 'total': n})
        time.sleep(delay)
    return n


@app.task(name='interop.sleep')
def sleep(s):
    time.sleep(s)
    return s


@app.task(name='interop.payload_size')
def payload_size(s):
    return len(s)


@app.task(name='interop.request_info', bind=True)
def request_info(self, *header_names):
    """What this worker saw of the request; ``header_names`` picks custom headers to report."""
    req = self.request
    di = req.delivery_info or {}
    return _jsonable({
        'id': req.id,
        'task': req.task,
        'retries': req.retries,
        'eta': req.eta,
        'expires': req.expires,
        'root_id': req.root_id,
        'parent_id': req.parent_id,
        'group': req.group,
        'timelimit': req.timelimit,
        'ignore_result': req.ignore_result,
        'correlation_id': req.correlation_id,
        'origin': getattr(req, 'origin', None),
        'delivery_info': {
            'exchange': di.get('exchange'),
            'routing_key': di.get('routing_key'),
            'priority': di.get('priority'),
            'redelivered': di.get('redelivered'),
        },
        'headers': {name: getattr(req, name, None) for name in header_names},
        'now': datetime.now().astimezone().isoformat(),
    })


@app.task(name='interop.slow_late', acks_late=True)
def slow_late(s, token=None):
    """acks_late: the message stays unacked while this runs (visibility tests)."""
    time.sleep(s)
    return token
