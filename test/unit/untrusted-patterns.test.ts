// Untrusted patterns stay cheap: pidbox destination patterns (NodeMatcher) and binding-table
// regexes (BindingMatcher) are capped, time-boxed or replaced, and their caches bounded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedCache } from '../../src/bounded-cache.js';
import { MAX_PATTERN_LENGTH, NodeMatcher, PATTERN_CACHE_SIZE } from '../../src/control/node-filter.js';
import { BINDING_CACHE_SIZE, BindingMatcher, isKombuTopicPattern, topicKeyToPattern } from '../../src/transport/redis/bindings.js';

test('BoundedCache forgets the least recently used entry', () => {
  const c = new BoundedCache<string, number>(2);
  c.set('a', 1);
  c.set('b', 2);
  c.get('a');
  c.set('c', 3);
  assert.deepEqual([c.get('a'), c.get('b'), c.get('c'), c.size], [1, undefined, 3, 2]);
});

test('NodeMatcher: catastrophic, broken and over-long patterns address nobody; outcomes cached, bounded', () => {
  const m = new NodeMatcher(`w-${'a'.repeat(40)}@host`);
  assert.equal(m.matches('([\\w@.-]+)+#', 'pcre'), false); // interrupted, not hung
  assert.equal(m.matches('(', 'pcre'), false);
  assert.equal(m.matches('w-.*'.padEnd(MAX_PATTERN_LENGTH + 1, '?'), 'pcre'), false);
  assert.equal(m.matches('w-a+@', 'pcre'), true);
  assert.equal(m.matches('w-*@host', 'glob'), true);
  assert.equal(m.matches('w-*', 'unknown'), false);
  for (let i = 0; i < PATTERN_CACHE_SIZE * 3; i++) m.matches(`x${i}`, 'glob');
  assert.equal((m as unknown as { outcomes: BoundedCache<string, boolean> }).outcomes.size, PATTERN_CACHE_SIZE);
});

test('BindingMatcher trusts only kombu-shaped patterns and keeps a bounded cache', () => {
  for (const key of ['a.b', 'a.*.b', 'usa.#', 'x-y.é']) assert.ok(isKombuTopicPattern(topicKeyToPattern(key)), key);
  assert.ok(isKombuTopicPattern('^wirefx\\..*?[^\\.]$')); // kombu ≤5.6
  for (const p of ['^(a+)+$', '^a|b$', '^a{1,99}$', topicKeyToPattern('#.#.#.#.#.#.#.#.#')]) assert.equal(isKombuTopicPattern(p), false, p);
  const m = new BindingMatcher();
  const rows = [{ routingKey: 'a.#', pattern: '^(?:(a|\\.)+)+!$', queue: 'q' }];
  assert.deepEqual(m.queues('topic', rows, `a.${'a'.repeat(40)}`), ['q']);
  for (let i = 0; i < BINDING_CACHE_SIZE * 2; i++) m.queues('topic', [{ routingKey: `k${i}`, pattern: topicKeyToPattern(`k${i}`), queue: 'q' }], 'k');
  assert.equal((m as unknown as { compiled: BoundedCache<string, RegExp | null> }).compiled.size, BINDING_CACHE_SIZE);
});
