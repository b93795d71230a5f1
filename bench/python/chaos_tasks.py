"""The Python side of the worker-crash scenario (bench/chaos/kill9.ts): the same task names as
bench/chaos/worker-tasks.ts, configured from the same environment variables
(CHAOS_REDIS_URL, CHAOS_BROKER_URL, CHAOS_QUEUE, CHAOS_VISIBILITY_TIMEOUT, CHAOS_RUNS_KEY).
``celery -A chaos_tasks worker`` with PYTHONPATH=bench/python.
"""
import os
import time

import redis as redis_py
from celery import Celery

url = os.environ['CHAOS_REDIS_URL']
app = Celery('chaos_tasks', broker=os.environ.get('CHAOS_BROKER_URL') or url, backend=url)
app.conf.task_default_queue = os.environ.get('CHAOS_QUEUE', 'celery')
if os.environ.get('CHAOS_VISIBILITY_TIMEOUT'):
    app.conf.broker_transport_options = {'visibility_timeout': float(os.environ['CHAOS_VISIBILITY_TIMEOUT'])}
app.conf.worker_hijack_root_logger = False

_runs = redis_py.Redis.from_url(url)


@app.task(name='chaos.record', bind=True, acks_late=True)
def record(self):
    _runs.rpush(os.environ.get('CHAOS_RUNS_KEY', 'chaos:runs'), f'{self.request.id} {os.getpid()} {int(time.time() * 1000)}')
    return None


@app.task(name='chaos.noop')
def noop():
    return None
