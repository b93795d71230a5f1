// `npm run test:matrix [-- 5.3 5.5 …]`: the whole interop tier against every supported Celery minor
// (scripts/celery-versions.sh), each in its own venv with the kombu and redis-py it shipped with,
// and a compatibility table (version × broker × direction) from what passed, failed or was
// skipped — with the skip reasons, so nothing is left out silently.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type InteropRun, runInterop } from '../test/helpers/interop-run.js';
import { REPO_ROOT } from '../test/helpers/python.js';

/** The table's columns: which interop files prove what. A file in none of them lands in "other". */
const COLUMNS: [string, string[]][] = [
  ['Redis: Python → TS', ['worker-python-producer', 'core-python-producer', 'worker-execution', 'control-python-client', 'worker-remote-control', 'worker-flower', 'worker-crash-recovery']],
  ['Redis: TS → Python', ['core-python-worker', 'control-python-worker', 'beat-python-worker', 'core-sentinel']],
  ['Redis: both ways (canvas, mixed fleet, restore)', ['worker-canvas', 'worker-mixed-fleet', 'core-visibility']],
  ['RabbitMQ: both ways', ['worker-rabbitmq']],
  ['beat (crontab, solar, RedBeat, app timezone)', ['beat-crontab-differential', 'beat-solar-differential', 'beat-redbeat', 'beat-app-timezone', 'readme-beat']],
];

const sh = (script: string, ...args: string[]) => execFileSync('bash', [resolve(REPO_ROOT, 'scripts', script), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

const all = sh('celery-versions.sh').trim().split('\n');
const newest = sh('celery-versions.sh', 'newest').trim();
const versions = process.argv.slice(2).length ? process.argv.slice(2) : all;
for (const v of versions) if (!all.includes(v)) throw new Error(`Celery ${v} is not in the matrix (${all.join(', ')})`);

sh('ensure-services.sh');
sh('setup-python.sh', ...versions);

const files = readdirSync(resolve(REPO_ROOT, 'test/interop'))
  .filter((f) => f.endsWith('.test.ts') && f !== 'compat-oldest.test.ts')
  .map((f) => f.replace(/\.test\.ts$/, ''));
const columns = [...COLUMNS, ['other', files.filter((f) => !COLUMNS.some(([, fs]) => fs.includes(f)))] as [string, string[]]].filter(([, fs]) => fs.length);

const logDir = resolve(REPO_ROOT, '.test-tmp/matrix');
mkdirSync(logDir, { recursive: true });
const cell = (run: InteropRun) => (run.fail > 0 || run.code !== 0 ? `❌ ${run.fail} failed, ${run.pass} passed` : `✅ ${run.pass}`) + (run.skipped ? `, ${run.skipped} skipped` : '');

const rows: string[] = [];
const notes: string[] = [];
let failed = false;
for (const version of versions) {
  const venv = version === newest ? '.venv' : `.venv-celery/${version}`;
  const kombu = execFileSync(resolve(REPO_ROOT, venv, 'bin/python'), ['-c', 'import celery, kombu; print(celery.__version__, kombu.__version__)'], { encoding: 'utf8' }).trim().split(' ');
  const cells: string[] = [];
  for (const [label, names] of columns) {
    const started = Date.now();
    const run = await runInterop({ version, venv, files: names.map((n) => `test/interop/${n}.test.ts`) });
    writeFileSync(resolve(logDir, `${version}-${label.replace(/\W+/g, '-')}.tap`), run.output);
    console.error(`celery ${version} | ${label}: ${cell(run)} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    if (run.fail > 0 || run.code !== 0) {
      failed = true;
      for (const o of run.outcomes.filter((o) => o.status === 'not ok')) notes.push(`- ${version}, ${label}: FAILED ${o.name}`);
    }
    for (const o of run.outcomes.filter((o) => o.status === 'skipped')) notes.push(`- ${version}, ${label}: skipped "${o.name}": ${o.reason ?? ''}`);
    cells.push(cell(run));
  }
  rows.push(`| ${kombu[0]} | ${kombu[1]} | ${cells.join(' | ')} |`);
}

const table = [
  `| Celery | kombu | ${columns.map(([label]) => label).join(' | ')} |`,
  `| --- | --- | ${columns.map(() => '---').join(' | ')} |`,
  ...rows,
  '',
  ...notes,
].join('\n');
writeFileSync(resolve(logDir, 'table.md'), `${table}\n`);
console.log(table);
console.error(`\n(TAP logs and table.md in ${logDir})`);
process.exitCode = failed ? 1 : 0;
