// Chords on a backend without a chord counter (Celery's SQLAlchemy db+): the producer sends
// `celery.chord_unlock` as celery/backends/base.py `fallback_chord_unlock` does, and the unlock
// task's decision follows celery/app/builtins.py `unlock_chord` (ready → join in header order, the
// first failure names the chord's ChordError). Python and our worker running it against
// PostgreSQL: test/interop/sqla-results.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Celery, chord, group, signature } from '../../src/index.js';
import { unlockArguments, unlockChord, unlockDecision } from '../../src/canvas/chord-unlock.js';
import { Retry } from '../../src/errors.js';
import type { TaskContext } from '../../src/registry/task-definition.js';
import { buildTaskMeta, type TaskMeta } from '../../src/protocol/result-meta.js';
import { parseTaskMessage } from '../../src/protocol/task-message.js';
import { recordingTransport } from '../helpers/control-fakes.js';

const meta = (task_id: string, status: string, result: unknown = null): TaskMeta => ({ task_id, status, result, traceback: null, children: null, date_done: null });
const leaf = (id: string): [[string, null], null] => [[id, null], null];

test('a chord on db+ sends celery.chord_unlock(group_id, body, result=header tuples) 1 s ahead to the body queue, then the header', async () => {
  const { transport, published } = recordingTransport();
  // The SQLAlchemy backend is not connected by sending a chord: only the broker is used.
  const app = new Celery({ broker_url: 'memory://', result_backend: 'db+postgresql://nobody@127.0.0.1:1/none' }, { transport });
  const body = signature('canvas.tsum', [], {}, { queue: 'bodies', priority: 3 });
  const result = await app.applyAsync(chord([signature('canvas.add', [1, 1]), group([signature('canvas.add', [2, 2])])], body));
  const [unlock, ...header] = published.map(({ message, target }) => ({ task: parseTaskMessage(message), target }));
  assert.equal(unlock!.task.name, 'celery.chord_unlock');
  assert.equal(unlock!.target.routingKey, 'bodies');
  assert.equal(unlock!.task.priority, 3);
  const [groupId, sentBody] = unlock!.task.args as [string, { task: string; options: { task_id: string } }];
  assert.equal(sentBody.task, 'canvas.tsum');
  assert.equal(sentBody.options.task_id, result.id, 'the body keeps the id the caller waits on');
  assert.ok(unlock!.task.eta && Math.abs(unlock!.task.eta.getTime() - Date.now() - 1000) < 1000, 'countdown 1');
  const tuples = unlock!.task.kwargs.result as [[string, null], unknown][];
  assert.equal(header[0]!.task.group, groupId);
  assert.equal(tuples[0]![0][0], header[0]!.task.id);
  assert.equal(header[1]!.task.group, tuples[1]![0][0], 'a nested group keeps its own id and members');
  assert.deepEqual((tuples[1]![1] as [[string]][]).map(([[id]]) => id), [header[1]!.task.id]);
  assert.deepEqual([unlock!.task.kwargs.interval, unlock!.task.kwargs.max_retries, unlock!.task.kwargs._chord_unlock_exchange_type], [null, null, 'direct']);
});

test('the unlock decision: wait while any result is unready; join in header order (nested groups as lists); the first failure fails the chord', () => {
  const header = [leaf('a'), [['g', null], [leaf('b'), leaf('c')]] as never, leaf('d')];
  const store = new Map([
    ['a', meta('a', 'SUCCESS', 1)],
    ['b', meta('b', 'SUCCESS', 2)],
    ['c', meta('c', 'STARTED')],
    ['d', meta('d', 'SUCCESS', 4)],
  ]);
  const metaOf = (id: string) => store.get(id) ?? meta(id, 'PENDING');
  assert.deepEqual(unlockDecision(header, metaOf), { kind: 'wait' });
  store.set('c', meta('c', 'SUCCESS', 3));
  assert.deepEqual(unlockDecision(header, metaOf), { kind: 'apply', results: [1, [2, 3], 4] });
  const boom = { exc_type: 'ValueError', exc_message: ['boom'], exc_module: 'builtins' };
  store.set('d', meta('d', 'REVOKED', { exc_type: 'TaskRevokedError', exc_message: ['revoked'], exc_module: 'celery.exceptions' }));
  store.set('b', meta('b', 'FAILURE', boom));
  assert.deepEqual(unlockDecision(header, metaOf), { kind: 'fail', taskId: 'b', exception: boom });
  assert.deepEqual(unlockDecision([], metaOf), { kind: 'apply', results: [] });
});

test('the unlock task: polls again every interval; past max_retries fails the body (errbacks called) and raises; when ready sends the body', async () => {
  const { transport, published } = recordingTransport();
  const app = new Celery({ broker_url: 'memory://', result_backend: 'memory://', result_chord_retry_interval: 2 }, { transport });
  const ctx = (retries: number) => ({ id: 'unlock-1', name: 'celery.chord_unlock', retries, retry: (o: unknown) => { throw new Retry(o as never); } }) as unknown as TaskContext;
  const body = signature('canvas.tsum', [], {}, { task_id: 'body-1', link_error: [signature('canvas.on_error')] });
  const kwargs = { group_id: 'g-1', callback: body as never, result: [leaf('a'), leaf('b')] };
  await app.backend!.storeResult(buildTaskMeta({ taskId: 'a', status: 'SUCCESS', result: 1, dateDone: new Date() }));

  await assert.rejects(unlockChord(app, kwargs, ctx(0)), (e: unknown) => e instanceof Retry && e.options.countdown === 2 && e.options.max_retries === null);
  await assert.rejects(unlockChord(app, { ...kwargs, interval: 0.5 }, ctx(7)), (e: unknown) => e instanceof Retry && e.options.countdown === 0.5);
  await assert.rejects(unlockChord(app, { ...kwargs, max_retries: 3 }, ctx(3)), /Can't retry celery\.chord_unlock\[unlock-1\]/);
  const failed = await app.backend!.getMeta('body-1');
  assert.equal(failed.status, 'FAILURE');
  assert.match(JSON.stringify(failed.result), /"exc_type":"ChordError".*chord_unlock could not be retried: MaxRetriesExceededError/);
  const errback = parseTaskMessage(published.at(-1)!.message);
  assert.deepEqual([errback.name, errback.args], ['canvas.on_error', ['body-1']]);

  await app.backend!.storeResult(buildTaskMeta({ taskId: 'b', status: 'SUCCESS', result: 2, dateDone: new Date() }));
  await unlockChord(app, kwargs, ctx(4));
  const sent = parseTaskMessage(published.at(-1)!.message);
  assert.deepEqual([sent.name, sent.id, sent.args], ['canvas.tsum', 'body-1', [[1, 2]]]);
});

test('the unlock task binds arguments as Python does: positional or keyword, other keywords (5.7\'s _chord_unlock_exchange_type) accepted, bad input one line', () => {
  const body = signature('canvas.tsum');
  const bound = unlockArguments(['g-1', body], { interval: null, max_retries: null, result: [], _chord_unlock_exchange_type: 'direct' });
  assert.deepEqual([bound.group_id, bound.callback.task, bound.result], ['g-1', 'canvas.tsum', []]);
  assert.throws(() => unlockArguments(['g-1'], {}), /celery\.chord_unlock: invalid arguments: kwargs\.callback/);
  assert.throws(() => unlockArguments([1, 2, 3, 4, 5, 6], {}), /takes 5 positional arguments but 6 were given/);
});
