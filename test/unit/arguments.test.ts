// Python call semantics for task arguments, with Python's own TypeError wording.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { ArgumentValidationError } from '../../src/errors.js';
import { defineSpecTask, definePositionalTask } from '../../src/registry/define-task.js';
import { localContext } from '../../src/registry/task-handle.js';

const ctx = localContext('t', [], {});
const render = defineSpecTask(
  { name: 'reports.render', params: ['report_id', 'format'], kwargs: z.object({ report_id: z.number().int(), format: z.enum(['pdf', 'csv']).default('pdf') }) },
  ({ kwargs }) => kwargs,
);

test('positional and keyword arguments bind to params like a Python signature', async () => {
  assert.deepEqual(await render.run([42], {}, ctx), { report_id: 42, format: 'pdf' });
  assert.deepEqual(await render.run([], { report_id: 42, format: 'csv' }, ctx), { report_id: 42, format: 'csv' });
  assert.deepEqual(await render.run([42, 'csv'], {}, ctx), { report_id: 42, format: 'csv' });
});

test('missing, duplicate, unexpected and surplus arguments are TypeErrors worded as in Python', async () => {
  await assert.rejects(render.run([], {}, ctx), { name: 'TypeError', message: "reports.render() missing 1 required positional argument: 'report_id'" });
  await assert.rejects(render.run([1], { report_id: 2 }, ctx), { name: 'TypeError', message: "reports.render() got multiple values for argument 'report_id'" });
  await assert.rejects(render.run([1], { colour: 'red' }, ctx), { name: 'TypeError', message: "reports.render() got an unexpected keyword argument 'colour'" });
  await assert.rejects(render.run([1, 'pdf', 3], {}, ctx), { name: 'TypeError', message: 'reports.render() takes 2 positional arguments but 3 were given' });
});

test('a schema failure names the field and the reason', async () => {
  await assert.rejects(render.run(['x'], {}, ctx), (e: unknown) => {
    assert.ok(e instanceof ArgumentValidationError);
    assert.equal(e.name, 'ValueError');
    assert.match(e.message, /^reports\.render: invalid arguments: kwargs\.report_id: /);
    return true;
  });
  const add = defineSpecTask({ name: 't.add', args: z.tuple([z.number(), z.number()]) }, ({ args: [a, b] }) => a + b);
  assert.equal(await add.run([2, 3], {}, ctx), 5);
  await assert.rejects(add.run([2, 'x'], {}, ctx), /t\.add: invalid arguments: args\[1\]: /);
});

test('the positional form spreads args, gives `this` = ctx, and refuses kwargs', async () => {
  const add = definePositionalTask('t.add', function (this: { id: string }, a: number, b = 1) {
    return [a + b, this.id];
  });
  assert.deepEqual(await add.run([2, 3], {}, ctx), [5, ctx.id]);
  assert.deepEqual(await add.run([2], {}, ctx), [3, ctx.id]);
  await assert.rejects(add.run([], {}, ctx), { name: 'TypeError', message: "t.add() missing 1 required positional argument: 'a'" });
  await assert.rejects(add.run([1], { b: 2 }, ctx), /got an unexpected keyword argument 'b'/);
});
