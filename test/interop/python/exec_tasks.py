"""Python's side of the execution-semantics interop tests: the same `exec.handoff` name as
test/interop/ts/execution-tasks.ts (``celery -A exec_tasks worker``)."""
from interop_app import app  # noqa: F401


@app.task(name='exec.handoff', bind=True)
def handoff(self):
    if self.request.retries < 1:
        raise self.retry(countdown=3)
    return ['py', self.request.retries]
