// The replacement of ioredis' Command#initPromise (src/transport/redis/ioredis-command.ts): it is
// in place with the ioredis this project installs, commands still resolve, convert and reject as
// ioredis' own do, and the reason it exists holds — its reject closure is young, ioredis' is not.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { Command } from 'ioredis';
import { keepCommandRepliesYoung } from '../../src/transport/redis/ioredis-command.js';

const initPromise = () => (Command.prototype as unknown as { initPromise: () => void }).initPromise;
const original = initPromise();
const applied = keepCommandRepliesYoung();

test('the replacement is in place with the installed ioredis (a new ioredis needs a new look)', () => {
  assert.equal(applied, true);
  assert.notEqual(initPromise(), original);
  assert.equal(keepCommandRepliesYoung(), true, 'a second call changes nothing');
});

test('a command resolves with its reply converted, as ioredis does', async () => {
  const get = new Command('get', ['k'], { replyEncoding: 'utf8' });
  get.resolve(Buffer.from('value'));
  assert.equal(await get.promise, 'value');
  const hgetall = new Command('hgetall', ['h'], { replyEncoding: 'utf8' });
  hgetall.resolve([Buffer.from('a'), Buffer.from('1')]);
  assert.deepEqual(await hgetall.promise, { a: '1' }, 'the reply transformer still runs');
  const numbers = new Command('set', ['k', 42, 'EX', 5]);
  assert.deepEqual(numbers.args, ['k', '42', 'EX', '5'], 'arguments are stringified');
});

test('a command rejects with the error given, and its timers are cleared', async () => {
  const command = new Command('get', ['k'], { replyEncoding: 'utf8' });
  command.setTimeout(60_000);
  command.reject(new Error('connection lost'));
  await assert.rejects(command.promise, /connection lost/);
  assert.equal((command as unknown as { _commandTimeoutTimer?: unknown })._commandTimeoutTimer, undefined);
});

test('a command with a node-style callback keeps ioredis\' own code', async () => {
  const got = await new Promise<[unknown, unknown]>((resolve) => {
    const command = new Command('get', ['k'], { replyEncoding: 'utf8' }, (error: unknown, value: unknown) => resolve([error, value]));
    command.resolve(Buffer.from('v'));
  });
  assert.deepEqual(got, [null, 'v']);
});

test('ioredis\' reject closure is allocated in old space, the replacement\'s in the young generation', () => {
  const probe = (patch: boolean) => {
    const script = `
      const { Command } = await import('ioredis');
      ${patch ? "const { keepCommandRepliesYoung } = await import('./src/transport/redis/ioredis-command.ts'); keepCommandRepliesYoung();" : ''}
      const command = new Command('get', ['k'], { replyEncoding: 'utf8' });
      console.log(%InYoungGeneration(command.reject));`;
    const run = spawnSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    return run.stdout.trim();
  };
  assert.equal(probe(false), 'false', 'ioredis as shipped');
  assert.equal(probe(true), 'true', 'with the replacement');
});
