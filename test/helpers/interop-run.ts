// Runs interop test files in a child `node --test` against another Celery venv (INTEROP_VENV),
// for the oldest-version smoke test and the version matrix: the runner's TAP output is parsed
// for every top-level test's outcome, with the failures' own lines kept for the report.
import { spawn } from 'node:child_process';
import { REPO_ROOT } from './python.js';

export interface InteropOutcome {
  name: string;
  status: 'ok' | 'not ok' | 'skipped';
  /** The runner's reason for a skip (e.g. "Celery 5.2.7 < 5.5: …"). */
  reason?: string;
}

export interface InteropRun {
  code: number | null;
  outcomes: InteropOutcome[];
  /** The runner's summary counts (`# pass`, `# fail`, `# skipped`). */
  pass: number;
  fail: number;
  skipped: number;
  output: string;
}

export interface InteropRunOptions {
  /** The Celery minor under test (`5.3`) and its repository-relative venv (`.venv-celery/5.3`). */
  version: string;
  venv: string;
  files: string[];
  /** Only these test names (exact) run; the rest of each file is skipped by name. */
  names?: string[];
  concurrency?: number;
  env?: Record<string, string>;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function runInterop(opts: InteropRunOptions): Promise<InteropRun> {
  const args = ['--import', 'tsx', '--test', '--test-reporter=tap', `--test-concurrency=${opts.concurrency ?? 2}`, '--test-timeout=120000'];
  if (opts.names) args.push(`--test-name-pattern=^(${opts.names.map(escape).join('|')})$`);
  args.push(...opts.files);
  // NODE_TEST_CONTEXT would make the child think it is one of our own test files and run nothing.
  const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { ...inherited, ...opts.env, INTEROP_VENV: opts.venv, INTEROP_CELERY_VERSION: opts.version },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolveRun({ code, output, ...parseTap(output) }));
  });
}

/** Top-level results (`ok 3 - name # SKIP reason`) and the summary of a TAP stream. */
export function parseTap(tap: string): Pick<InteropRun, 'outcomes' | 'pass' | 'fail' | 'skipped'> {
  const outcomes: InteropOutcome[] = [];
  for (const m of tap.matchAll(/^(ok|not ok) \d+ - (.*?)(?: # SKIP ?(.*))?$/gm)) {
    const skipped = m[3] !== undefined;
    outcomes.push({ name: m[2]!, status: skipped ? 'skipped' : (m[1] as 'ok' | 'not ok'), ...(skipped && m[3] ? { reason: m[3] } : {}) });
  }
  const count = (label: string) => Number(tap.match(new RegExp(`^# ${label} (\\d+)$`, 'm'))?.[1] ?? NaN);
  return { outcomes, pass: count('pass'), fail: count('fail'), skipped: count('skipped') };
}
