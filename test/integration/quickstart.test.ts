// The README's Quick start as a new user runs it: the package packed (npm pack of a fresh build),
// installed into an empty folder with the README's own install line, the README's tasks.ts and
// producer.ts written there unchanged, the README's worker command, then the producer script —
// which must print its results and exit by itself — and the README's Python call. Against a
// private redis-server, so the snippets' URLs point at it through CELERY_BROKER_URL alone.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT, requirePython } from '../helpers/python.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { uniqueToken } from '../helpers/redis.js';

const run = promisify(execFile);
const token = uniqueToken();
const root = mkdtempSync(join(tmpdir(), `ts-celery-quickstart-${token}-`));
let server: RedisServer | undefined;
let workerPid: number | undefined;

after(async () => {
  // The whole process group (npx and the worker under it): a straggler would hold this file's pipes open.
  if (workerPid !== undefined) {
    try {
      process.kill(-workerPid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await server?.kill();
  rmSync(root, { recursive: true, force: true });
});

/** The README's fenced blocks of one language, in order. */
function blocks(lang: string): string[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1));
  return [...quickStart.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
}

function blockStarting(lang: string, first: string): string {
  const found = blocks(lang).find((b) => b.startsWith(first));
  assert.ok(found, `README Quick start has no \`\`\`${lang} block starting with ${first}`);
  return found;
}

/** The package as `npm pack` makes it, from a fresh build of this checkout (the repo's dist/ is not touched). */
async function pack(): Promise<string> {
  const stage = join(root, 'stage');
  mkdirSync(stage);
  for (const f of ['package.json', 'README.md']) cpSync(join(REPO_ROOT, f), join(stage, f));
  await run(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', join(stage, 'dist')]);
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', root], { cwd: stage });
  const tgz = readdirSync(root).find((f) => f.endsWith('.tgz'));
  assert.ok(tgz, 'npm pack wrote no tarball');
  return join(root, tgz);
}

test("the README's Quick start works as written in an empty folder, and a finished producer exits", { timeout: 180_000 }, async () => {
  const [tgz, redis] = await Promise.all([pack(), startRedisServer()]);
  server = redis;
  const app = join(root, 'app');
  mkdirSync(app);
  const env = {
    ...process.env,
    CELERY_BROKER_URL: redis.url,
    CELERY_RESULT_BACKEND: redis.url,
    // The registry's copies of zod, tsx and the package's own dependencies come from npm's cache when present.
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
  };

  // The install block, with the packed tarball standing in for the registry's ts-celery.
  const install = blockStarting('sh', 'npm init');
  assert.match(install, /npm install ts-celery zod/);
  await run('bash', ['-euo', 'pipefail', '-c', install.replace('npm install ts-celery', `npm install ${tgz}`)], { cwd: app, env });

  writeFileSync(join(app, 'tasks.ts'), blockStarting('ts', '// tasks.ts'));
  const producer = blockStarting('ts', '// producer.ts');
  writeFileSync(join(app, 'producer.ts'), producer);

  const workerCommand = blocks('sh').find((b) => b.includes('npx ts-celery worker'))!.trim();
  const worker = spawn('bash', ['-c', `exec ${workerCommand}`], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  workerPid = worker.pid;
  let log = '';
  worker.stdout.on('data', (c: Buffer) => (log += c));
  worker.stderr.on('data', (c: Buffer) => (log += c));
  // Every process of the group has exited once nothing holds the output pipes any more (npx's own
  // exit comes first; the worker under it may still be shutting down).
  const pipesClosed = Promise.all([once(worker.stdout, 'close'), once(worker.stderr, 'close')]);
  const deadline = Date.now() + 60_000;
  while (!/ts1@\S+ ready\./.test(log)) {
    assert.ok(Date.now() < deadline && worker.exitCode === null, `the README's worker command did not get ready; log:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  // The producer script must print both results and exit on its own.
  const started = Date.now();
  const out = await run('npx', ['tsx', 'producer.ts'], { cwd: app, env, timeout: 60_000 });
  assert.deepEqual(out.stdout.trim().split('\n'), ['5', "{ report_id: 42, format: 'csv' }"], out.stderr);
  assert.ok(Date.now() - started < 60_000);

  // The Python side, unchanged, with the app a Python service would have.
  const python = blockStarting('python', '# Python side');
  const code = `import os\nfrom celery import Celery\napp = Celery(broker=os.environ['CELERY_BROKER_URL'], backend=os.environ['CELERY_RESULT_BACKEND'])\nprint(repr(${python.split('\n').filter((l) => l && !l.startsWith('#')).join('')}))\n`;
  const py = await run(requirePython(), ['-c', code], { cwd: app, env, timeout: 30_000 });
  assert.equal(py.stdout.trim(), "{'report_id': 42, 'format': 'pdf'}");

  // SIGTERM to the process group (npx and the worker): npx dies of it, the worker shuts down warm.
  process.kill(-worker.pid!, 'SIGTERM');
  let shutdownDeadline: NodeJS.Timeout | undefined;
  await Promise.race([
    pipesClosed,
    new Promise((_, reject) => {
      shutdownDeadline = setTimeout(() => reject(new Error(`the worker did not exit within 20 s of SIGTERM; log:\n${log}`)), 20_000);
    }),
  ]);
  clearTimeout(shutdownDeadline);
  workerPid = undefined;
  assert.match(log, /Task reports\.render\[[^\]]+\] succeeded/);
  assert.match(log, /worker: Warm shutdown/);
  assert.doesNotMatch(log, /ERROR|WARNING/);
});
