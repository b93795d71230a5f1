// Chord counters on a real Redis (this file's db and prefix) replayed against what Celery 5.2 left in
// Redis (chord-counters-and-body fixture): the `.s`/`.j`/`.t` keys, completion exactly once.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { pythonJson, RedisChordStore } from '../../src/backend/redis/chord.js';
import { RedisBackend } from '../../src/backend/redis/redis-backend.js';
import { loadFixture } from '../helpers/fixtures.js';
import { claimRedis } from '../helpers/redis.js';

const { url: URL, prefix } = claimRedis('backend-chord');
const admin = new Redis(URL);
const backend = new RedisBackend(URL, { keyPrefix: prefix });
const chords = RedisChordStore.forBackend(backend);

after(async () => {
  await backend.close();
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await admin.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await admin.quit();
});

const key = (gid: string, suffix = '') => `${prefix}celery-taskset-meta-${gid}${suffix}`;

test('replays Celery 5.2: .s, then .j members byte-identical, then completion in group_index order', async () => {
  const fx = loadFixture('celery-5.2', 'chord-counters-and-body').data;
  const gid: string = fx.group_id;
  const ids: string[] = fx.header_task_ids;
  const results = ids.map((id) => fx.header_results[id].value.result as number);
  await chords.setChordSize(gid, ids.length);
  const sizeKey = fx.while_running[`celery-taskset-meta-${gid}.s`];
  assert.equal(await admin.get(key(gid, '.s')), sizeKey.value);
  assert.ok((await admin.pttl(key(gid, '.s'))) > 86_390_000);

  for (const i of [0, 1]) {
    assert.deepEqual(await chords.onChordPartReturn({ groupId: gid, groupIndex: i, taskId: ids[i]!, state: 'SUCCESS', result: results[i] }), { complete: false });
  }
  const zset = await admin.zrange(key(gid, '.j'), 0, -1, 'WITHSCORES');
  const expected = fx.while_running[`celery-taskset-meta-${gid}.j`].value as [string, number][];
  assert.deepEqual(zset, expected.flatMap(([member, score]) => [member, String(score)]));
  const pttl = await admin.pttl(key(gid, '.j'));
  assert.ok(pttl > 86_390_000 && pttl <= 86_400_000, `PTTL ${pttl}`);

  const last = await chords.onChordPartReturn({ groupId: gid, groupIndex: 2, taskId: ids[2]!, state: 'SUCCESS', result: results[2] });
  assert.ok(last.complete);
  const { claimToken, ...outcome } = last;
  assert.deepEqual(outcome, {
    complete: true,
    results: ids.map((taskId, i) => ({ taskId, state: 'SUCCESS', result: results[i] })),
    savedGroup: null,
  });
  // The completing task holds the 5.7 dispatch claim; a duplicate completion cannot take it.
  assert.equal(await admin.get(key(gid, '.c')), claimToken);
  assert.equal((await chords.onChordPartReturn({ groupId: gid, groupIndex: 2, taskId: ids[2]!, state: 'SUCCESS', result: results[2] })).complete, false);
  assert.equal(await chords.finishChord(gid, claimToken), true);
  // after_join (Celery 5.7, test/fixtures/celery-5.7/chord-counters-and-body.json): only the done marker is left.
  assert.deepEqual(Object.keys(loadFixture('celery-5.7', 'chord-counters-and-body').data.after_join).map((k) => k.slice(-2)), ['.c']);
  assert.equal(await admin.exists(key(gid, '.j'), key(gid, '.s'), key(gid, '.t'), key(gid, '.d')), 0);
  assert.equal(await admin.get(key(gid, '.c')), 'done');
  // A late duplicate after completion does not recreate the chord.
  assert.equal((await chords.onChordPartReturn({ groupId: gid, groupIndex: 0, taskId: ids[0]!, state: 'SUCCESS', result: results[0] })).complete, false);
  assert.equal(await admin.exists(key(gid, '.j')), 0);
});

test('out-of-order arrival, failures counted, redelivered duplicates counted once', async () => {
  const gid = randomUUID();
  const ids = [randomUUID(), randomUUID(), randomUUID()];
  await chords.setChordSize(gid, 3);
  const error = { exc_type: 'ValueError', exc_message: ['bad'], exc_module: 'builtins' };
  assert.equal((await chords.onChordPartReturn({ groupId: gid, groupIndex: 2, taskId: ids[2]!, state: 'FAILURE', result: error })).complete, false);
  assert.equal((await chords.onChordPartReturn({ groupId: gid, groupIndex: 2, taskId: ids[2]!, state: 'FAILURE', result: error })).complete, false);
  assert.equal((await chords.onChordPartReturn({ groupId: gid, groupIndex: 0, taskId: ids[0]!, state: 'SUCCESS', result: 'a' })).complete, false);
  const done = await chords.onChordPartReturn({ groupId: gid, groupIndex: 1, taskId: ids[1]!, state: 'SUCCESS', result: 'b' });
  assert.ok(done.complete);
  assert.deepEqual(
    done.results.map((r) => [r.taskId, r.state, r.result]),
    [[ids[0], 'SUCCESS', 'a'], [ids[1], 'SUCCESS', 'b'], [ids[2], 'FAILURE', error]],
  );
});

test('no .s yet means nobody completes; .t (add_to_chord) raises the total', async () => {
  const gid = randomUUID();
  assert.equal((await chords.onChordPartReturn({ groupId: gid, groupIndex: 0, taskId: randomUUID(), state: 'SUCCESS', result: 1 })).complete, false);
  await chords.setChordSize(gid, 1);
  await chords.addToChord(gid);
  assert.equal(await admin.get(key(gid, '.t')), '1');
  assert.equal((await chords.onChordPartReturn({ groupId: gid, groupIndex: 1, taskId: randomUUID(), state: 'SUCCESS', result: 2 })).complete, true);
});

test('50 header tasks finishing at once complete the chord exactly once', async () => {
  const gid = randomUUID();
  await chords.setChordSize(gid, 50);
  const outcomes = await Promise.all(
    Array.from({ length: 50 }, (_, i) => chords.onChordPartReturn({ groupId: gid, groupIndex: i, taskId: randomUUID(), state: 'SUCCESS', result: i })),
  );
  const completions = outcomes.filter((o) => o.complete);
  assert.equal(completions.length, 1);
  assert.deepEqual(completions[0]!.complete && completions[0]!.results.map((r) => r.result), Array.from({ length: 50 }, (_, i) => i));
});

test('result_chord_ordered=False keeps .j as a list; a saved header group is returned', async () => {
  const unordered = new RedisChordStore(backend.redis, backend.keys, 0, { ordered: false });
  const gid = randomUUID();
  const tuple: [[string, null], [[[string, null], null]]] = [[gid, null], [[[randomUUID(), null], null]]];
  await backend.saveGroup(gid, tuple);
  await unordered.setChordSize(gid, 2);
  assert.equal(await admin.pttl(key(gid, '.s')), -1);
  await unordered.onChordPartReturn({ groupId: gid, groupIndex: 1, taskId: 'b', state: 'SUCCESS', result: 2 });
  const done = await unordered.onChordPartReturn({ groupId: gid, groupIndex: 0, taskId: 'a', state: 'SUCCESS', result: 1 });
  assert.equal(await admin.type(key(gid, '.j')), 'list');
  assert.ok(done.complete);
  assert.deepEqual(done.results.map((r) => r.taskId), ['b', 'a']);
  assert.deepEqual(done.savedGroup, tuple);
});

test("members are spelled as Python's json.dumps spells them", () => {
  // python3 -c "import json; print(json.dumps([1, 'id', 'SUCCESS', {...}]))"
  const value = [1, 'id', 'SUCCESS', { a: [1, 2.5, null, true], é: 'café ☕ 😀', ctl: '\x01\x7f\n"' }];
  assert.equal(pythonJson(value), String.raw`[1, "id", "SUCCESS", {"a": [1, 2.5, null, true], "\u00e9": "caf\u00e9 \u2615 \ud83d\ude00", "ctl": "\u0001\u007f\n\""}]`);
});
