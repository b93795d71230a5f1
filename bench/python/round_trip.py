"""Times N sequential send_task(...).get() round trips from a Python client; prints one JSON line
with the p50 and p99 in milliseconds."""
import json
import sys
import time

from bench_app import app

n = int(sys.argv[1])
queue = sys.argv[2]
app.send_task("bench.add", args=[1, 1], queue=queue).get(timeout=10)  # warm-up: connect, declare, subscribe
samples = []
for i in range(n):
    start = time.perf_counter()
    app.send_task("bench.add", args=[i, 1], queue=queue).get(timeout=10)
    samples.append((time.perf_counter() - start) * 1000)
samples.sort()
pct = lambda p: samples[min(len(samples) - 1, int(p * len(samples)))]
print(json.dumps({"p50": pct(0.5), "p99": pct(0.99)}))
