// The CLI side of remote control: Celery's reply formatting, positional argument compilation and
// the `celery events --dump` line format.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileArguments, formatReply, pretty } from '../../src/cli/commands/control.js';
import { dumpLine } from '../../src/cli/commands/events.js';

test('replies print as celery inspect/control/status print them', () => {
  assert.equal(formatReply({ 'a@h': { ok: 'pong' } }, true), '->  a@h: OK\n        pong\n');
  assert.equal(formatReply({ 'a@h': { ok: 'pong' } }, false), '->  a@h: OK\n');
  assert.equal(formatReply({ 'a@h': ['t.a', 't.b'] }, true), '->  a@h: OK\n    * t.a\n    * t.b\n');
  assert.equal(formatReply({ 'a@h': [] }, true), '->  a@h: OK\n    - empty -\n');
  assert.equal(formatReply({ 'a@h': { error: "KeyError('x')" } }, true), "->  a@h: ERROR\n        KeyError('x')\n");
  assert.deepEqual(pretty({ b: 1, a: 2 }), ['OK', '{\n    "a": 2,\n    "b": 1\n}']);
});

test('positional arguments follow the command signature', () => {
  assert.deepEqual(compileArguments('rate_limit', ['t.add', '10/m']), { task_name: 't.add', rate_limit: '10/m' });
  assert.deepEqual(compileArguments('revoke', ['id1', 'id2']), { task_id: ['id1', 'id2'] });
  assert.deepEqual(compileArguments('terminate', ['SIGKILL', 'id1']), { signal: 'SIGKILL', task_id: ['id1'] });
  assert.deepEqual(compileArguments('pool_grow', ['2']), { n: 2 });
  assert.deepEqual(compileArguments('query_task', ['a']), { ids: ['a'] });
  assert.throws(() => compileArguments('pool_grow', ['x']), /integer/);
  assert.throws(() => compileArguments('ping', ['extra']), /takes arguments/);
});

test('events dump lines', () => {
  const names = new Map<string, string>();
  assert.equal(
    dumpLine({ type: 'worker-heartbeat', hostname: 'a@h', timestamp: 1_700_000_000.5, freq: 2, active: 0 }, names),
    'a@h [2023-11-14 22:13:20.500000+00:00] heartbeat: active=0, freq=2',
  );
  dumpLine({ type: 'task-received', hostname: 'a@h', timestamp: 1_700_000_000, uuid: 'u', name: 't.add', args: '(1, 2)', kwargs: '{}' }, names);
  assert.equal(dumpLine({ type: 'task-succeeded', hostname: 'a@h', timestamp: 1_700_000_000, uuid: 'u', result: '3' }, names), 'a@h [2023-11-14 22:13:20+00:00] task succeeded: t.add(u) args=(1, 2) kwargs={} result=3');
});
