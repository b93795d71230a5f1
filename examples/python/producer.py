"""A Python service calling tasks that a TypeScript worker runs (ts-celery worker -A ./examples/tasks.ts).

    pip install 'celery[redis]'
    python examples/python/producer.py
"""
import os
import time

from celery import Celery

url = os.environ.get("BROKER_URL", "redis://127.0.0.1:6379/0")
app = Celery("producer", broker=url, backend=os.environ.get("RESULT_BACKEND", url))
app.conf.task_routes = {"reports.*": {"queue": "reports"}}

print("tasks.add(2, 3) =", app.send_task("tasks.add", args=[2, 3]).get(timeout=10))

report = app.send_task("reports.render", kwargs={"report_id": 42, "format": "csv"})
while not report.ready():
    print("reports.render:", report.state, report.info)
    time.sleep(0.2)
print("reports.render =", report.get())

try:
    app.send_task("tasks.validate", args=[-1]).get(timeout=10)
except Exception as exc:  # the TypeScript RangeError arrives as Python's ValueError
    print("tasks.validate(-1) raised", type(exc).__name__, exc)
