"""The benchmark's Python Celery app: the same task names as bench/tasks.ts."""
import os

from celery import Celery

url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
prefix = os.environ.get("BENCH_PREFIX", "bench:")
# BENCH_BROKER_URL (amqp://…) runs the RabbitMQ benchmark; results stay on Redis.
app = Celery("bench_app", broker=os.environ.get("BENCH_BROKER_URL") or url, backend=url)
app.conf.broker_transport_options = {"global_keyprefix": prefix}
app.conf.result_backend_transport_options = {"global_keyprefix": prefix}
app.conf.worker_hijack_root_logger = False


@app.task(name="bench.noop")
def noop():
    return None


@app.task(name="bench.add")
def add(a, b):
    return a + b
