// Issue 16, scenario 5 at small scale (`npm run chaos -- hostile` runs 100,000): malformed task
// messages of every kind in test/helpers/hostile-messages.ts among valid ones on the real Redis,
// consumed by our CLI worker. Every valid task is done; every bad one is rejected once with one
// well-formed log line (never requeued) and a FAILURE where its id is readable; corrupt entries in
// kombu's unacked hash are dropped once; the worker stays up.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { hostileInput } from '../../bench/chaos/hostile.js';
import { HOSTILE_KINDS } from '../helpers/hostile-messages.js';
import { runPython } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';

const claim = claimRedis('worker-hostile-input');

after(() => claim.deleteKeys());

test(`1,500 hostile messages (${HOSTILE_KINDS.length} kinds, one 20 MB body) among 300 valid ones: all valid done, each bad one rejected once, FAILURE where the id is readable`, async (t) => {
  const r = await hostileInput({ url: claim.url, prefix: claim.prefix, token: claim.token, bad: 1500, good: 300, huge: 1, timeoutMs: 60_000, log: (l) => t.diagnostic(l) });
  t.diagnostic(`${r.seconds.toFixed(1)} s; ${r.note}; FAILUREs by type ${JSON.stringify(r.excTypes)}`);
  const errors = () => r.lines.filter((l) => / (ERROR|WARNING|CRITICAL)\//.test(l)).slice(-30).join('\n');
  assert.ok(r.workerAlive, 'the worker is still running');
  assert.equal(r.goodDone, 300, errors());
  assert.equal(r.badRejected, 1500, `one rejection line per bad message\n${errors()}`);
  assert.equal(r.failuresStored, r.readableIds, 'a FAILURE under every readable id');
  assert.ok(r.readableIds > 1200, `${r.readableIds} readable ids`);
  for (const type of ['DecodeError', 'ContentDisallowed', 'ProtocolError', 'NotRegistered', 'MessageTooLarge']) assert.ok(r.excTypes[type]! > 0, type);
  assert.deepEqual(r.badLines, [], 'every log line is one well-formed line of at most 2000 characters');
  assert.ok(!r.lines.some((l) => /Traceback/.test(l)), 'no traceback in the log');
  assert.equal(r.leftInQueue, 0);
  assert.equal(r.leftUnacked, 0, 'nothing left to be redelivered, the corrupt unacked entries included');
  assert.ok(r.peakRssMiB < 400, `peak RSS ${r.peakRssMiB} MiB`);

  // What a Python caller waiting on one of them sees: FAILURE, not PENDING forever.
  const seen = (await runPython(
    `import json, os
from celery import Celery
app = Celery(broker=os.environ['URL'], backend=os.environ['URL'])
app.conf.result_backend_transport_options = {'global_keyprefix': os.environ['PREFIX']}
print(json.dumps({t: [app.AsyncResult(i).state, type(app.AsyncResult(i).result).__name__] for t, i in json.loads(os.environ['IDS']).items()}))`,
    { URL: claim.url, PREFIX: claim.prefix, IDS: JSON.stringify(r.sampleIds) },
  )).json as Record<string, [string, string]>;
  t.diagnostic(`Python AsyncResult: ${JSON.stringify(seen)}`);
  assert.deepEqual(Object.keys(seen).sort(), Object.keys(r.excTypes).sort());
  for (const [type, [state, cls]] of Object.entries(seen)) assert.deepEqual([state, cls], ['FAILURE', type]);
});
