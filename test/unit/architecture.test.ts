// The layering of src/: arrows point down only — app.ts composes worker/, canvas/, beat/,
// control/ and registry/; those use transport/ and backend/; protocol/ (pure) sits below them,
// and errors.ts, log.ts… are leaves — so no module can reach itself through its imports. Reads
// every import specifier under src/ (value and `import type`, `export … from`, side-effect and
// dynamic `import()`) and fails on a wrong-way edge or an import cycle, naming its files.
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

/** Every relative specifier a module names: static imports and re-exports (type-only too), side-effect imports, `import()`. */
const SPECIFIER = [
  /(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g,
  /(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
];

const edges = sourceFiles(SRC).flatMap((file) => {
  const from = relative(SRC, file);
  const text = readFileSync(file, 'utf8');
  return SPECIFIER.flatMap((re) => [...text.matchAll(re)])
    .map((m) => m[1]!)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => ({ from, to: relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, '.ts') }));
});

/**
 * The import cycles of a graph, one per strongly connected component (Tarjan): every file caught
 * in it, and the shortest path from its first file back to itself (`a.ts → b.ts → a.ts`).
 */
function importCycles(graphEdges: readonly { from: string; to: string }[]): { files: string[]; path: string[] }[] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of graphEdges) {
    if (!next.has(from)) next.set(from, new Set());
    next.get(from)!.add(to);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || next.get(v)?.has(v)) components.push(component.sort());
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) visit(v);
  const shortestLoop = (component: string[]): string[] => {
    // Breadth-first inside the component from its first file until an edge leads back to it.
    const start = component[0]!;
    const inside = new Set(component);
    const cameFrom = new Map<string, string>();
    const queue = [start];
    for (const v of queue) {
      for (const w of [...(next.get(v) ?? [])].sort()) {
        if (w === start) {
          const path = [v];
          while (path[0] !== start) path.unshift(cameFrom.get(path[0]!)!);
          return [...path, start];
        }
        if (inside.has(w) && !cameFrom.has(w)) {
          cameFrom.set(w, v);
          queue.push(w);
        }
      }
    }
    return [...component, start];
  };
  return components.map((files) => ({ files, path: shortestLoop(files) }));
}

const LEAVES = new Set(['errors.ts', 'log.ts', 'clock.ts', 'url-mask.ts', 'censor.ts', 'bounded-cache.ts', 'did-you-mean.ts', 'version.ts']);

test('protocol/ is pure: it imports only errors.ts and itself', () => {
  const bad = edges.filter((e) => area(e.from) === 'protocol' && area(e.to) !== 'protocol' && e.to !== 'errors.ts');
  assert.deepEqual(bad, []);
});

test('transport/ and backend/ know nothing of tasks, workers or the app', () => {
  const allowed = new Set(['protocol', 'transport', 'backend', ...LEAVES]);
  const bad = edges.filter((e) => ['transport', 'backend'].includes(area(e.from)) && !allowed.has(area(e.to)));
  assert.deepEqual(bad, []);
  // The sanctioned crossings: the Redis backend reuses the transport's URL parsing, start-up
  // check, dead-path detection, script runner and ioredis Command fix; the rpc:// backend sends and receives results
  // over the broker's Transport.
  const shared = new Set(['transport/redis/options.ts', 'transport/redis/connection-check.ts', 'transport/redis/liveness.ts', 'transport/redis/lua-script.ts', 'transport/redis/ioredis-command.ts', 'transport/transport.ts']);
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

test('every relative import names a source file under src/', () => {
  const files = new Set(sourceFiles(SRC).map((f) => relative(SRC, f)));
  assert.deepEqual(edges.filter((e) => !files.has(e.to)), []);
});

test('no import cycles under src/ (type-only imports count: a reader follows them too)', () => {
  const cycles = importCycles(edges).map(({ files, path }) => `${path.join(' → ')}   (files in the tangle: ${files.join(', ')})`);
  assert.deepEqual(cycles, [], `import cycles:\n  ${cycles.join('\n  ')}`);
});

test('the cycle check finds a cycle, however it is spelled', () => {
  const found = importCycles([
    { from: 'app.ts', to: 'canvas/apply.ts' },
    { from: 'canvas/apply.ts', to: 'registry/handle.ts' },
    { from: 'registry/handle.ts', to: 'app.ts' },
    { from: 'app.ts', to: 'errors.ts' },
    { from: 'worker/self.ts', to: 'worker/self.ts' },
  ]);
  assert.deepEqual(found, [
    { files: ['app.ts', 'canvas/apply.ts', 'registry/handle.ts'], path: ['app.ts', 'canvas/apply.ts', 'registry/handle.ts', 'app.ts'] },
    { files: ['worker/self.ts'], path: ['worker/self.ts', 'worker/self.ts'] },
  ]);
  assert.deepEqual(importCycles([{ from: 'a.ts', to: 'b.ts' }, { from: 'b.ts', to: 'c.ts' }, { from: 'a.ts', to: 'c.ts' }]), []);
  // Each way of naming a module is an edge.
  const kinds = [
    "import type { A } from './a.js';",
    "export { B } from './b.js';",
    "export * from './c.js';",
    "import './d.js';",
    "const e = await import('./e.js');",
    "type F = typeof import('./f.js');",
    "import {\n  G,\n  type H,\n} from './g.js';",
  ].join('\n');
  const named = SPECIFIER.flatMap((re) => [...kinds.matchAll(re)]).map((m) => m[1]).sort();
  assert.deepEqual(named, ['./a.js', './b.js', './c.js', './d.js', './e.js', './f.js', './g.js']);
});

test('a `worker --processes` supervisor loads no worker: commands/worker.ts reaches the app, worker and beat only through import()', () => {
  const text = readFileSync(join(SRC, 'cli/commands/worker.ts'), 'utf8');
  const staticValueImports = [...text.matchAll(/(?:^|\n)import\s+(?!type\s)[^'"]*?from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]!);
  const heavy = staticValueImports.filter((spec) => /\/(worker|beat|registry|transport|backend|app)[/.]|worker-run/.test(spec));
  assert.deepEqual(heavy, []);
});
