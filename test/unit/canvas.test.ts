// Canvas from TypeScript (celery/canvas.py `_chain.run`, `_chain.prepare_steps`, `group`,
// `_chord`): the builders give Python's signature dicts, ids are assigned before sending, chains
// carry the remaining steps next-step-last, a group step followed by a task becomes a chord, and
// group membership lands on a chain's last step.
// (Chords themselves need the Redis, django-db or db+ backend: test/interop/worker-canvas.test.ts,
// django-results.test.ts and sqla-results.test.ts run them; chord-unlock.test.ts the db+ join.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Celery, chain, chord, group, signature } from '../../src/index.js';
import { applyFrozen, freeze, frozenTuple } from '../../src/canvas/apply-signature.js';
import { parseTaskMessage } from '../../src/protocol/task-message.js';
import { recordingTransport } from '../helpers/control-fakes.js';

function recordingApp() {
  const { transport, published } = recordingTransport();
  const app = new Celery({ broker_url: 'memory://', result_backend: 'memory://' }, { transport });
  const sent = () => published.map(({ message }) => parseTaskMessage(message));
  return { app, sent };
}

const add = (...args: number[]) => signature('canvas.add', args);

test('builders give the dicts Python canvas produces', () => {
  assert.deepEqual(group([add(1)]), { task: 'celery.group', args: [], kwargs: { tasks: [add(1)] }, options: {}, subtask_type: 'group', immutable: false });
  assert.deepEqual(chain([add(1)]).subtask_type, 'chain');
  const c = chord([add(1), add(2)], signature('canvas.tsum'));
  assert.equal(c.task, 'celery.chord');
  assert.deepEqual(c.kwargs.header, group([add(1), add(2)]));
  assert.deepEqual(c.kwargs.kwargs, {});
});

test('a chain sends its first step with the rest in embed.chain, next step last, ids assigned', async () => {
  const { app, sent } = recordingApp();
  const result = await app.applyAsync(chain([add(1, 1), add(2), add(3)]));
  const [first] = sent();
  assert.equal(sent().length, 1);
  assert.deepEqual(first!.args, [1, 1]);
  const rest = first!.embed.chain!;
  assert.deepEqual(rest.map((s) => s.args), [[3], [2]]);
  assert.ok(rest.every((s) => typeof s.options.task_id === 'string'));
  assert.equal(result.id, rest[0]!.options.task_id, 'the result is the last step');
});

test('group: members share the group id with their index; a GroupResult in order', async () => {
  const { app, sent } = recordingApp();
  const result = await app.applyAsync(group([add(1, 1), add(2, 2)]));
  assert.deepEqual(sent().map((t) => [t.group, t.groupIndex]), [[result.id, 0], [result.id, 1]]);
  assert.deepEqual(result.results.map((r) => r.id), sent().map((t) => t.id));
});

test('a group step followed by a task becomes a chord in the chain; a chain in a group carries membership on its last step', async () => {
  const { app, sent } = recordingApp();
  await app.applyAsync(chain([add(1, 1), group([add(10), add(20)]), signature('canvas.tsum')]));
  const [next] = sent()[0]!.embed.chain!;
  assert.equal(next!.subtask_type, 'chord');
  assert.equal((next!.kwargs.body as { task: string }).task, 'canvas.tsum');

  const member = await recordingApp();
  const g = await member.app.applyAsync(group([chain([add(1, 1), add(2)])]));
  const [step] = member.sent();
  assert.equal(step!.group, null, 'the first step is not the member');
  assert.equal(step!.embed.chain![0]!.options.group_id, g.id);
  assert.equal(step!.embed.chain![0]!.options.group_index, 0);
});

test('a chord on a backend that cannot join one (memory, rpc://) is refused with a clear reason, nothing sent', async () => {
  for (const backend of ['memory://', 'rpc://']) {
    const { transport, published } = recordingTransport();
    const app = new Celery({ broker_url: 'memory://', result_backend: backend }, { transport });
    await assert.rejects(app.applyAsync(chord([add(1, 1)], signature('canvas.tsum'))), /chords need the Redis, django-db or SQLAlchemy \(db\+\) result backend; rpc:\/\/ does not support chords/);
    assert.equal(published.length, 0, backend);
  }
});

test('the result tuple of a frozen signature is known before it is sent (what django-db records for a chord header)', async () => {
  const { app } = recordingApp();
  const frozen = freeze(group([add(1, 1), chain([add(1), add(2)]), group([add(3), add(4)])]));
  const expected = frozenTuple(frozen);
  assert.deepEqual(await applyFrozen(app, frozen), expected);
  const [[, parent], members] = expected;
  assert.equal(parent, null);
  assert.equal(members!.length, 3);
  assert.notEqual(members![1]![0][1], null, 'a chain member carries its parent step');
  assert.equal(members![2]![1]!.length, 2, 'a group member carries its members');
});
