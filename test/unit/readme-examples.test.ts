// The README cannot drift: every ```ts block is type-checked against src/ (continuation blocks
// with the names they take from earlier blocks), and the self-contained ones run.
// test/interop/readme-beat.test.ts checks the Beat example's `--list` against Python Celery.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../helpers/python.js';
import { README, readmeBlocks, runnableSource, typeCheckReadme } from '../helpers/readme.js';

const checks = typeCheckReadme();

test('every TypeScript block in the README type-checks', () => {
  assert.ok(checks.length >= 3, `only ${checks.length} ts blocks found in README.md`);
  const errors = checks.flatMap((c) => c.errors);
  assert.deepEqual(errors, [], `README examples that do not compile:\n${errors.join('\n')}`);
});

test('the check catches a wrong option, a wrong call and a name no block provides', () => {
  const broken = `${readFileSync(README, 'utf8')}
\`\`\`ts
import { Celery, crontab } from 'ts-celery';
export const other = new Celery({ beat_schedule: { nightly: { task: 'n', schedule: crontab({ hours: 3 }) } } });
\`\`\`

\`\`\`ts
await other.sendTask('x', 'not-an-array');
await nowhere.sendTask('x');
\`\`\`
`;
  const last = typeCheckReadme(readmeBlocks(broken)).slice(-2);
  assert.match(last[0]!.errors.join('\n'), /'hours' does not exist/);
  assert.deepEqual(last[1]!.imported, ['other']);
  assert.match(last[1]!.errors.join('\n'), /not assignable/);
  assert.match(last[1]!.errors.join('\n'), /Cannot find name 'nowhere'/);
});

test('the self-contained README blocks run', async () => {
  const runnable = checks.filter((c) => c.selfContained);
  assert.ok(runnable.length >= 1, 'no self-contained block in README.md');
  const dir = await mkdtemp(join(tmpdir(), 'readme-run-'));
  try {
    for (const { block } of runnable) {
      const file = join(dir, `readme-line-${block.line}.ts`);
      await writeFile(file, runnableSource(block.code));
      const { CELERY_BROKER_URL: _b, CELERY_RESULT_BACKEND: _r, ...env } = process.env;
      const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c));
      child.stderr.on('data', (c: Buffer) => (output += c));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await new Promise<number | null>((r) => child.once('close', r));
      clearTimeout(timer);
      assert.equal(code, 0, `README.md:${block.line}: the block exits with ${code}:\n${output}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
