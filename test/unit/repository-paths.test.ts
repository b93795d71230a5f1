// A clone, a fork or an npm tarball holds only the repository: nothing the code, the tests, the
// bench or the scripts read may live beside it (the reference folder developers keep next to the
// repository is not there for users). Scans every text file we own for a path that leaves it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../..');
/** Generated, installed or captured trees: not ours to read (captured tracebacks name their old paths). */
const SKIP = new Set(['.git', 'node_modules', 'dist', '.venv', '.venv-celery', '.test-tmp', 'fixtures', 'logs', '__pycache__']);
const TEXT = /\.(ts|js|mjs|cjs|py|sh|json|md|txt|ya?ml)$|^run$/;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (SKIP.has(e.name)) return [];
    const path = join(dir, e.name);
    return e.isDirectory() ? files(path) : TEXT.test(e.name) ? [path] : [];
  });
}

test('no file reads a path outside the repository', () => {
  const outside = /\.\.\/shared\b|\bshared\/(fixtures|docs|tools)\b/;
  const hits = files(ROOT)
    .filter((file) => !file.endsWith('repository-paths.test.ts'))
    .flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, i) => (outside.test(line) ? [`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`] : [])),
    );
  assert.deepEqual(hits, []);
});
