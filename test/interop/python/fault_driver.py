"""Drives the fault.* tasks on one worker (Python's or ours) and prints the raw stored metas.

Usage: python -c 'import fault_driver; fault_driver.run(queue, node)'. Every case is sent to
`queue`; `node` is the worker's name (revoke goes to it alone). Prints one JSON object: case →
the parsed `celery-task-meta-<id>` value (null when nothing was stored).
"""
import json
import os
import time
import uuid
from datetime import datetime, timedelta, timezone

import redis as redis_py

from interop_app import app

KEYPREFIX = os.environ.get('KEYPREFIX', '')
r_client = redis_py.Redis.from_url(os.environ['RESULT_BACKEND'])


def _meta(task_id):
    raw = r_client.get(f'{KEYPREFIX}celery-task-meta-{task_id}')
    return None if raw is None else json.loads(raw)


def _wait(task_id, states=('FAILURE', 'REVOKED', 'SUCCESS'), timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        meta = _meta(task_id)
        if meta is not None and meta.get('status') in states:
            return meta
        time.sleep(0.05)
    raise AssertionError(f'no final state for {task_id}: {_meta(task_id)}')


def run(queue, node):
    send = lambda name, **kw: app.send_task(name, queue=queue, **kw).id  # noqa: E731
    out = {}
    out['time_limit'] = _wait(send('fault.sleep', args=[10], time_limit=1))
    out['soft_time_limit'] = _wait(send('fault.sleep', args=[10], soft_time_limit=1))
    out['worker_lost'] = _wait(send('fault.die'))
    out['not_registered'] = _wait(send('fault.nope', args=[1]))
    out['expired'] = _wait(send('fault.sleep', args=[0], expires=datetime.now(timezone.utc) - timedelta(minutes=1)))
    revoked_id = str(uuid.uuid4())
    app.control.revoke(revoked_id, destination=[node], reply=True, timeout=5)
    # Stored by the revoke command itself, before any message exists.
    out['revoked_command'] = _meta(revoked_id)
    send('fault.sleep', args=[0], task_id=revoked_id)
    out['max_retries'] = _wait(send('fault.retry', args=[1], kwargs={'b': 'x'}))
    reject_id = send('fault.reject')
    ignore_id = send('fault.ignore')
    # The worker runs one task at a time: once a later task finished, these two have run.
    _wait(send('fault.sleep', args=[0]))
    _wait(send('fault.sleep', args=[0]))
    out['revoked_on_arrival'] = _meta(revoked_id)
    out['reject'] = _meta(reject_id)
    out['ignore'] = _meta(ignore_id)
    print(json.dumps(out))
