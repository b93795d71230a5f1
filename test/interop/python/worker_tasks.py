"""Tasks a Python worker shares BY NAME with the TypeScript tasks module
test/interop/ts/tasks.ts (mixed fleets, crash recovery): ``celery -A worker_tasks worker``.
Configured like interop_app (BROKER_URL, RESULT_BACKEND, KEYPREFIX, VISIBILITY_TIMEOUT,
DEFAULT_QUEUE).
"""
import json
import os
import time

import redis as redis_py

from interop_app import app  # noqa: F401  (celery -A worker_tasks finds `app` here)

_redis = None


def _client():
    global _redis
    if _redis is None:
        _redis = redis_py.Redis.from_url(os.environ['BROKER_URL'])
    return _redis


@app.task(name='fleet.whoami', bind=True)
def whoami(self, runs_key, delay_ms=0):
    _client().rpush(runs_key, json.dumps({'id': self.request.id, 'lang': 'python', 'node': self.request.hostname}))
    if delay_ms:
        time.sleep(delay_ms / 1000)
    return {'lang': 'python', 'node': self.request.hostname}


@app.task(name='fleet.gated', bind=True, acks_late=True)
def gated(self, gate, runs_key, value):
    _client().rpush(f'{runs_key}:started', self.request.id)
    deadline = time.monotonic() + 30
    while not _client().exists(gate):
        if time.monotonic() > deadline:
            raise TimeoutError(f'gate {gate} was not opened within 30 s')
        time.sleep(0.025)
    _client().rpush(runs_key, json.dumps({'id': self.request.id, 'lang': 'python', 'node': self.request.hostname}))
    return {'value': value, 'lang': 'python', 'redelivered': bool((self.request.delivery_info or {}).get('redelivered'))}
