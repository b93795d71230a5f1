// `--statedb` / `worker_state_db` (celery/worker/state.py `Persistent`): the revoked ids and the
// logical clock, kept in a file across restarts, so a task revoked before a restart is still
// discarded after it. Celery's file is a pickled shelve, readable by Python only; ours is JSON
// (ids with the wall-clock time they were revoked), and a file that is not ours is refused
// without being touched. Written at shutdown, as Celery writes it, and a few seconds after any
// revoke, so a killed worker loses little.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { LamportClock } from '../control/clock.js';
import type { RevokedSet } from '../control/revoked-set.js';

const FORMAT = 'ts-celery worker state 1';

interface StateFile {
  format: typeof FORMAT;
  clock: number;
  /** [task id, epoch seconds it was revoked], oldest first. */
  revoked: [string, number][];
}

export class WorkerStateDb {
  private savedVersion = -1;

  constructor(
    readonly path: string,
    private readonly revoked: RevokedSet,
    private readonly clock: LamportClock,
  ) {}

  /** Merge the saved state in (a missing file is a first start); throws a ConfigError for a file that is not ours. */
  load(): void {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new ConfigError(`--statedb ${this.path}: ${(error as Error).message}`);
    }
    const state = parseState(text);
    if (!state) throw new ConfigError(`--statedb ${this.path} is not ts-celery's worker state (a Python Celery statedb shelve?): left untouched; give ts-celery a file of its own`);
    this.revoked.addFromWallClock(state.revoked);
    this.clock.adjust(state.clock);
    this.savedVersion = this.revoked.version;
  }

  /** Write the state (to a temporary file, then renamed over the old one) when it changed. */
  save({ force = false } = {}): void {
    if (!force && this.revoked.version === this.savedVersion) return;
    const state: StateFile = { format: FORMAT, clock: this.clock.value, revoked: this.revoked.toWallClock() };
    const tmp = `${this.path}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(state));
    renameSync(tmp, this.path);
    this.savedVersion = this.revoked.version;
  }
}

function parseState(text: string): StateFile | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  if (doc === null || typeof doc !== 'object') return null;
  const { format, clock, revoked } = doc as Partial<StateFile>;
  if (format !== FORMAT || typeof clock !== 'number' || !Array.isArray(revoked)) return null;
  const valid = revoked.filter((e): e is [string, number] => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number');
  return { format, clock, revoked: valid };
}
