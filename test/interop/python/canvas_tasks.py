"""Python's half of the canvas interop tests: the same task names as
test/interop/ts/canvas-tasks.ts (``celery -A canvas_tasks worker``)."""
from interop_app import app  # noqa: F401


@app.task(name='canvas.add')
def add(a, b):
    return a + b


@app.task(name='canvas.tsum')
def tsum(values):
    return sum(values)


@app.task(name='canvas.fail')
def fail(message):
    raise ValueError(message)
