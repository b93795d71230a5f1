// The pieces of remote control on their own: node filtering (glob/pcre), the revoked set's
// LimitedSet semantics, the Lamport clock, and command edge cases (errors as Python reprs,
// events toggling, terminate, shutdown without reply).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LamportClock } from '../../src/control/clock.js';
import { type CommandContext, CommandRegistry, errorRepr, NO_REPLY, PythonException } from '../../src/control/command-registry.js';
import { controlCommands, inspectCommands } from '../../src/control/commands/index.js';
import type { ControlledWorker } from '../../src/control/controlled-worker.js';
import { fnmatchToRegExp, isAddressedTo, matchNodeName } from '../../src/control/node-filter.js';
import { RevokedSet } from '../../src/control/revoked-set.js';
import { requestInfo } from '../../src/control/worker-info.js';
import { idleControlledWorker } from '../helpers/control-fakes.js';

describe('node filtering (kombu Node.handle_message)', () => {
  test('destination wins over pattern; empty means everyone', () => {
    assert.equal(isAddressedTo('a@h', { destination: ['a@h'] }), true);
    assert.equal(isAddressedTo('a@h', { destination: ['b@h'], pattern: '*', matcher: 'glob' }), false);
    assert.equal(isAddressedTo('a@h', { destination: [], pattern: 'b*', matcher: 'glob' }), false);
    assert.equal(isAddressedTo('a@h', { destination: null, pattern: null, matcher: null }), true);
    assert.equal(isAddressedTo('a@h', { pattern: 'b*' }), true, 'pattern without matcher is ignored');
  });
  test('glob is fnmatch; pcre is re.match (anchored at the start only)', () => {
    assert.equal(matchNodeName('worker1@host', 'worker?@*'), true);
    assert.equal(matchNodeName('worker1@host', 'worker[!1]@*'), false);
    assert.equal(matchNodeName('worker1@host', 'worker[0-9]@host'), true);
    assert.equal(matchNodeName('worker1@host', 'worker'), false);
    assert.equal(matchNodeName('worker1@host', 'worker\\d', 'pcre'), true);
    assert.equal(matchNodeName('worker1@host', 'host', 'pcre'), false);
    assert.equal(matchNodeName('worker1@host', 'x', 'nosuch'), false);
    assert.equal(fnmatchToRegExp('a.b[').test('a.b['), true);
  });
});

describe('RevokedSet (LimitedSet)', () => {
  test('keeps insertion order, re-adding moves an id to the end', () => {
    let now = 0;
    const s = new RevokedSet({ now: () => now });
    s.update(['a', 'b', 'c']);
    now = 1;
    s.add('a');
    assert.deepEqual(s.toList(), ['b', 'c', 'a']);
  });
  test('at maxlen the oldest go; expired ids leave only on purge', () => {
    let now = 0;
    const s = new RevokedSet({ maxlen: 3, expiresS: 10, now: () => now });
    s.update(['a', 'b', 'c', 'd']);
    assert.deepEqual(s.toList(), ['b', 'c', 'd']);
    now = 100;
    assert.equal(s.has('b'), true, 'no expiry on lookup, as in Celery');
    s.add('e');
    assert.deepEqual(s.toList(), ['e'], 'reaching maxlen purges the expired ones too');
    now = 200;
    s.purge();
    assert.deepEqual(s.toList(), []);
  });
  test('across a restart (the state db): ids keep their age in wall-clock time; expired ones are dropped', () => {
    let now = 500; // monotonic seconds of the first process
    const s = new RevokedSet({ expiresS: 100, now: () => now });
    s.add('old');
    now = 560;
    s.add('new');
    const saved = s.toWallClock(1_000_000);
    assert.deepEqual(saved, [['old', 999_940], ['new', 1_000_000]]);
    // A new process whose monotonic clock starts elsewhere, 30 s of wall time later.
    let later = 7;
    const t = new RevokedSet({ expiresS: 100, now: () => later });
    t.addFromWallClock(saved, 1_000_030);
    assert.deepEqual(t.toList(), ['old', 'new']);
    later = 18; // 'old' is now 101 s old, 'new' 41 s
    t.purge();
    assert.deepEqual(t.toList(), ['new']);
    // What expired while no worker ran is not brought back.
    const u = new RevokedSet({ expiresS: 100, now: () => 0 });
    u.addFromWallClock(saved, 1_000_070);
    assert.deepEqual(u.toList(), ['new']);
  });
  test('defaults are Celery’s: 50,000 ids, 10,800 s', () => {
    const s = new RevokedSet();
    assert.equal(s.maxlen, 50_000);
    assert.equal(s.expiresS, 10_800);
  });
});

test('LamportClock: forward +1, adjust max+1', () => {
  const c = new LamportClock();
  assert.equal(c.forward(), 1);
  assert.equal(c.adjust(10), 11);
  assert.equal(c.adjust(3), 12);
  assert.equal(c.adjust('x'), 13);
});

function context(overrides: Partial<ControlledWorker> = {}, groups = new Set<string>(['worker'])) {
  const sent: [string, Record<string, unknown>][] = [];
  const calls: string[] = [];
  const running = requestInfo({ id: 'r1', name: 't.a', args: [1], kwargs: {}, hostname: 'n@h', startedAtMs: 1500, acknowledged: true, exchange: '', routingKey: 'celery', priority: 0, redelivered: false, workerPid: 7 });
  const worker = idleControlledWorker('n@h', {
    activeRequests: () => [running],
    registeredTasks: () => [{ name: 't.b', attributes: { rate_limit: '10/m', exchange: null } }, { name: 't.a' }, { name: 'celery.ping' }],
    terminate: (ids, signal) => (calls.push(`terminate ${signal}`), ids.filter((i) => i === 'r1')),
    setRateLimit: (name) => name === 't.a',
    setTimeLimit: (name) => name === 't.a',
    addConsumer: async (spec) => void calls.push(JSON.stringify(spec)),
    poolGrow: (n) => void calls.push(`grow ${n}`),
    shutdown: (msg) => void calls.push(`shutdown ${msg}`),
    ...overrides,
  });
  const ctx: CommandContext = {
    worker,
    hostname: 'n@h',
    clock: new LamportClock(),
    events: { groups, send: (type, fields = {}) => void sent.push([type, fields]) },
    software: { sw_ident: 'ts-celery', sw_ver: '0.1.0', sw_sys: 'Linux' },
  };
  const registry = new CommandRegistry([...inspectCommands, ...controlCommands]);
  return { ctx, sent, calls, run: (m: string, a: Record<string, unknown> = {}) => registry.run(ctx, m, a), registry };
}

describe('commands', () => {
  test('errors are Python reprs: unknown, missing argument, autoscale', async () => {
    const { run } = context();
    await assert.rejects(run('nope'), (e: unknown) => errorRepr(e) === "KeyError('nope')");
    await assert.rejects(run('rate_limit', { task_name: 'x' }), (e: unknown) => errorRepr(e) === `TypeError("rate_limit() missing 1 required positional argument: 'rate_limit'")`);
    await assert.rejects(run('autoscale'), (e: unknown) => errorRepr(e) === "ValueError('Autoscale not enabled')");
    assert.equal(errorRepr(new PythonException('KeyError', "it's")), `KeyError("it's")`);
  });
  test('rate_limit: invalid string, unknown task, disable, set', async () => {
    const { run } = context();
    assert.deepEqual(await run('rate_limit', { task_name: 't.a', rate_limit: 'abc/m' }), { error: `Invalid rate limit string: ValueError("could not convert string to float: 'abc'")` });
    assert.deepEqual(await run('rate_limit', { task_name: 'zz', rate_limit: '1/s' }), { error: 'unknown task' });
    assert.deepEqual(await run('rate_limit', { task_name: 't.a', rate_limit: '' }), { ok: 'rate limit disabled successfully' });
    assert.deepEqual(await run('rate_limit', { task_name: 't.a', rate_limit: '1.5/h' }), { ok: 'new rate limit set successfully' });
    assert.deepEqual(await run('time_limit', { task_name: 't.a', soft: 1, hard: 2 }), { ok: 'time limits set successfully' });
    assert.deepEqual(await run('time_limit', { task_name: 'zz' }), { error: 'unknown task' });
  });
  test('revoke: set repr, terminate of known and unknown ids, terminate command', async () => {
    const { run, ctx, calls } = context();
    assert.deepEqual(await run('revoke', { task_id: ['a', 'b'], terminate: false }), { ok: "tasks {'a', 'b'} flagged as revoked" });
    assert.deepEqual(await run('revoke', { task_id: 'x', terminate: true, signal: 'SIGKILL' }), { ok: 'terminate: tasks unknown' });
    assert.deepEqual(await run('terminate', { signal: 'SIGTERM', task_id: 'r1' }), { ok: 'terminate: r1' });
    assert.deepEqual(ctx.worker.revoked.toList(), ['a', 'b', 'x', 'r1']);
    assert.deepEqual(calls, ['terminate SIGKILL', 'terminate SIGTERM']);
    assert.deepEqual(await run('revoked'), ['a', 'b', 'x', 'r1']);
  });
  test('events: enable/disable toggle the task group; heartbeat sends freq 5 + software', async () => {
    const { run, sent } = context();
    assert.deepEqual(await run('enable_events'), { ok: 'task events enabled' });
    assert.deepEqual(await run('enable_events'), { ok: 'task events already enabled' });
    assert.deepEqual(await run('disable_events'), { ok: 'task events disabled' });
    assert.deepEqual(await run('disable_events'), { ok: 'task events already disabled' });
    assert.equal(await run('heartbeat'), null);
    assert.deepEqual(sent, [['worker-heartbeat', { freq: 5, sw_ident: 'ts-celery', sw_ver: '0.1.0', sw_sys: 'Linux' }]]);
    const all = context({}, new Set());
    assert.deepEqual(await all.run('enable_events'), { ok: 'task events already enabled' }, 'empty groups = all (Celery quirk)');
  });
  test('registered: builtins hidden, sorted, default info items when set', async () => {
    const { run } = context();
    assert.deepEqual(await run('registered', { taskinfoitems: [] }), ['t.a', 't.b [rate_limit=10/m]']);
    assert.deepEqual(await run('registered', { taskinfoitems: ['rate_limit'], builtins: true }), ['celery.ping', 't.a', 't.b [rate_limit=10/m]']);
  });
  test('query_task, clock, consumers, pool, shutdown (no reply)', async () => {
    const { run, calls } = context();
    const q = (await run('query_task', { ids: ['r1', 'zz'] })) as Record<string, [string, { time_start: number }]>;
    assert.deepEqual(Object.keys(q), ['r1']);
    assert.equal(q.r1![0], 'active');
    assert.equal(q.r1![1].time_start, 1.5);
    assert.deepEqual(await run('clock'), { clock: 0 });
    assert.deepEqual(await run('add_consumer', { queue: 'q2' }), { ok: 'add consumer q2' });
    assert.deepEqual(await run('cancel_consumer', { queue: 'q2' }), { ok: 'no longer consuming from q2' });
    assert.deepEqual(await run('pool_grow'), { ok: 'pool will grow' });
    assert.equal(await run('shutdown'), NO_REPLY);
    assert.deepEqual(calls, ['{"queue":"q2","exchange":null,"exchangeType":"direct","routingKey":null}', 'grow 1', 'shutdown Got shutdown from remote']);
  });
  test('--list: visible commands of each type, sorted', () => {
    const { registry } = context();
    const inspect = registry.list('inspect').map((d) => d.name);
    assert.ok(!inspect.includes('hello'));
    assert.deepEqual(inspect, [...inspect].sort());
    assert.ok(registry.list('control').some((d) => d.name === 'revoke'));
  });
});
