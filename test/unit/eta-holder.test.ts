// EtaHolder's bound (worker_eta_task_limit): the earliest messages are kept, a later one goes
// back after the overflow wait, an earlier one evicts the latest held at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EtaHolder } from '../../src/worker/eta-holder.js';
import type { Request } from '../../src/worker/request.js';

test('at most `limit` held: earlier ones evict the latest, later ones are given back', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const given: string[] = [];
  const due: string[] = [];
  const holder = new EtaHolder(() => 0, { limit: 2, giveBack: (r) => given.push((r as unknown as { id: string }).id) });
  const req = (id: string) => ({ id }) as unknown as Request;
  const onDue = (r: Request) => due.push((r as unknown as { id: string }).id);
  holder.hold(req('a'), 10_000, onDue);
  holder.hold(req('b'), 20_000, onDue);
  holder.hold(req('c'), 30_000, onDue); // later than all held: overflow, given back after 1 s
  assert.equal(holder.size, 2);
  assert.equal(holder.requests().length, 3);
  holder.hold(req('d'), 5_000, onDue); // earlier: evicts b at once
  assert.deepEqual(given, ['b']);
  assert.deepEqual(holder.requests().map((r) => (r as unknown as { id: string }).id).sort(), ['a', 'c', 'd']);
  t.mock.timers.tick(1000);
  assert.deepEqual(given, ['b', 'c']);
  assert.equal(holder.size, 2);
  holder.releaseAll();
  assert.equal(holder.requests().length, 0);
});
