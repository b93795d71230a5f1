"""Tasks that make a worker raise its own exceptions (time limits, a lost worker process, retries
exhausted, Reject/Ignore), shared BY NAME with test/interop/ts/fault-tasks.ts:
``celery -A fault_tasks worker -P prefork``. Configured like interop_app.
"""
import os
import signal
import time

from celery.exceptions import Ignore, Reject

from interop_app import app  # noqa: F401  (celery -A fault_tasks finds `app` here)


@app.task(name='fault.sleep')
def sleep(seconds):
    time.sleep(seconds)
    return 'woke'


@app.task(name='fault.die')
def die():
    os.kill(os.getpid(), signal.SIGKILL)


@app.task(name='fault.retry', bind=True, max_retries=0)
def retry(self, a, b=None):
    raise self.retry(countdown=0)


@app.task(name='fault.reject')
def reject():
    raise Reject('not for us', requeue=False)


@app.task(name='fault.ignore')
def ignore():
    raise Ignore()
