// design.md "The house in one picture": arrows point down only. Reads every import specifier
// under src/ and fails on a wrong-way edge.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const SRC = resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The top-level area of a src-relative path: `protocol`, `transport`, `app.ts`… */
const area = (path: string) => path.split('/')[0]!;

const edges = sourceFiles(SRC).flatMap((file) => {
  const from = relative(SRC, file);
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g), ...text.matchAll(/import\(['"]([^'"]+)['"]\)/g)]
    .map((m) => m[1]!)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => ({ from, to: relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, '.ts') }));
});

const LEAVES = new Set(['errors.ts', 'log.ts', 'clock.ts', 'url-mask.ts', 'censor.ts', 'bounded-cache.ts', 'did-you-mean.ts', 'version.ts']);

test('protocol/ is pure: it imports only errors.ts and itself', () => {
  const bad = edges.filter((e) => area(e.from) === 'protocol' && area(e.to) !== 'protocol' && e.to !== 'errors.ts');
  assert.deepEqual(bad, []);
});

test('transport/ and backend/ know nothing of tasks, workers or the app', () => {
  const allowed = new Set(['protocol', 'transport', 'backend', ...LEAVES]);
  const bad = edges.filter((e) => ['transport', 'backend'].includes(area(e.from)) && !allowed.has(area(e.to)));
  assert.deepEqual(bad, []);
  // The one sanctioned crossing: the Redis backend reuses the transport's URL parsing and start-up check.
  const shared = new Set(['transport/redis/options.ts', 'transport/redis/connection-check.ts']);
  const crossed = edges.filter((e) => area(e.from) === 'backend' && area(e.to) === 'transport' && !shared.has(e.to));
  assert.deepEqual(crossed, []);
  assert.deepEqual(edges.filter((e) => area(e.from) === 'transport' && area(e.to) === 'backend'), []);
});

test('worker, beat and control do not import each other (except worker → control)', () => {
  const peers = ['worker', 'beat', 'control'];
  const bad = edges.filter((e) => peers.includes(area(e.from)) && peers.includes(area(e.to)) && area(e.from) !== area(e.to) && !(area(e.from) === 'worker' && area(e.to) === 'control'));
  assert.deepEqual(bad, []);
});

test('nothing imports cli/, and leaves import nothing but leaves', () => {
  assert.deepEqual(edges.filter((e) => area(e.to) === 'cli' && area(e.from) !== 'cli'), []);
  assert.deepEqual(edges.filter((e) => LEAVES.has(e.from) && !LEAVES.has(e.to)), []);
});
