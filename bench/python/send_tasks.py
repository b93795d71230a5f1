"""Times N sequential app.send_task calls (Python's publish rate); prints one JSON line."""
import json
import sys
import time

from bench_app import app

n = int(sys.argv[1])
queue = sys.argv[2]
with app.producer_or_acquire() as producer:
    app.send_task("bench.noop", queue=queue, producer=producer)  # warm-up: connect, declare
    start = time.perf_counter()
    for _ in range(n):
        app.send_task("bench.noop", queue=queue, producer=producer)
    elapsed = time.perf_counter() - start
print(json.dumps({"n": n, "seconds": elapsed, "rate": n / elapsed}))
