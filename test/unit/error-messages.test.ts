// Error messages a new user meets first must name what is wrong and what is accepted: a
// misspelt beat entry key, a schedule of no accepted form, an unknown timezone, a missing
// positional argument (Python's own wording, with the argument's name).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildScheduleTable } from '../../src/beat/schedule-table.js';
import { Celery } from '../../src/index.js';
import { parameterNames } from '../../src/registry/arguments.js';
import { definePositionalTask } from '../../src/registry/define-task.js';
import type { TaskContext } from '../../src/registry/task-definition.js';

test('a misspelt beat entry key is named, with the closest key', () => {
  assert.throws(
    () => buildScheduleTable({ x: { task: 't', schedul: 5 } }),
    { name: 'ConfigError', message: `beat_schedule["x"] has an unknown key 'schedul' (did you mean 'schedule'?); an entry takes task, schedule, args, kwargs, options, relative` },
  );
});

test('a schedule of no accepted form lists the forms; a plain object of crontab fields says how to write it', () => {
  assert.throws(() => buildScheduleTable({ x: { task: 't', schedule: { minute: '*', hour: 8 } } }), (e: Error) => {
    assert.match(e.message, /^beat_schedule\["x"\]\["schedule"\] must be seconds \(a positive number\), a schedule object \(crontab\(\{\.\.\.\}\), every\(s\), solar\(event, lat, lon\)\), \{ crontab: /);
    assert.match(e.message, /; got \{"minute":"\*","hour":8\}; for a crontab write crontab\(\{"minute":"\*","hour":8\}\) or \{ crontab: \{"minute":"\*","hour":8\} \}$/);
    return true;
  });
  assert.throws(() => buildScheduleTable({ x: { task: 't', schedule: 'hourly' } }), /must be seconds .*; got "hourly"$/);
});

test('an unknown timezone names the setting and the closest zone; the app (so the worker) refuses it', () => {
  assert.throws(() => new Celery({ timezone: 'Europe/Berln' }), {
    name: 'ConfigError',
    message: `timezone must be an IANA time zone name such as "Europe/Berlin" or "UTC", got "Europe/Berln" (did you mean 'Europe/Berlin'?)`,
  });
  assert.equal(new Celery({ timezone: 'America/New_York' }).conf.timezone, 'America/New_York');
});

test("a missing positional argument is named as Python names it: missing 1 required positional argument: 'b'", async () => {
  const ctx = {} as TaskContext;
  const add = definePositionalTask('tasks.add', (a: number, b: number) => a + b);
  await assert.rejects(add.run([1], {}, ctx), { name: 'TypeError', message: "tasks.add() missing 1 required positional argument: 'b'" });
  const three = definePositionalTask('t3', function (x: unknown, y: unknown, z: unknown, w = 1) {
    return [x, y, z, w];
  });
  await assert.rejects(three.run([], {}, ctx), { message: "t3() missing 3 required positional arguments: 'x', 'y' and 'z'" });
  // A destructured parameter has no name to give: the count alone.
  const destructured = definePositionalTask('d', ({ a }: { a: number }, b: number) => a + b);
  await assert.rejects(destructured.run([], {}, ctx), { message: 'd() missing 2 required positional arguments' });
  assert.deepEqual(parameterNames(async (p: unknown, q: unknown) => [p, q]), ['p', 'q']);
  assert.deepEqual(parameterNames((only: unknown) => only), ['only']);
});

test('a user error class may choose its Python module; builtins only with a builtin name', async () => {
  const { toExceptionInfo } = await import('../../src/protocol/exceptions.js');
  class QuotaExceeded extends Error {
    override readonly name = 'QuotaExceeded';
    readonly pythonModule = 'billing.errors';
  }
  assert.deepEqual(toExceptionInfo(new QuotaExceeded('over')), { exc_type: 'QuotaExceeded', exc_message: ['over'], exc_module: 'billing.errors' });
  const bad = Object.assign(new QuotaExceeded('x'), { pythonModule: 'builtins' });
  assert.equal(toExceptionInfo(bad).exc_module, 'ts_celery.tasks', 'builtins.QuotaExceeded would be a SecurityError in Python');
  const perm = Object.assign(new Error('no'), { name: 'PermissionError', pythonModule: 'builtins' });
  assert.deepEqual(toExceptionInfo(perm), { exc_type: 'PermissionError', exc_message: ['no'], exc_module: 'builtins' });
  assert.equal(toExceptionInfo(Object.assign(new QuotaExceeded('x'), { pythonModule: 'not a module' })).exc_module, 'ts_celery.tasks');
});
