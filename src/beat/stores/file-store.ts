// `-s FILE`: a JSON state file (last_run_at / total_run_count per entry). Celery's own shelve
// store is pickled Python (celery/beat.py `PersistentScheduler`), so we keep its keys but not its
// format; like Celery (`PersistentScheduler.setup_schedule`), a changed `timezone` / `enable_utc`
// resets the state.
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { EntryState, ScheduleEntry } from '../schedule-entry.js';
import type { AdvanceOutcome, ScheduleStore } from './schedule-store.js';

interface FileContent {
  version: 1;
  tz: string;
  utc_enabled: boolean;
  entries: Record<string, { last_run_at: string | null; total_run_count: number }>;
}

export interface FileStoreOptions {
  timezone: string;
  enableUtc: boolean;
}

export class FileStore implements ScheduleStore {
  private states = new Map<string, EntryState>();
  private dirty = false;

  constructor(
    readonly path: string,
    private readonly options: FileStoreOptions,
  ) {}

  async load(entries: readonly ScheduleEntry[], now: number): Promise<Map<string, EntryState>> {
    const stored = await this.read();
    const out = new Map<string, EntryState>();
    for (const e of entries) {
      const s = stored?.entries[e.name];
      const state: EntryState = s
        ? { lastRunAt: s.last_run_at === null ? null : Date.parse(s.last_run_at), totalRunCount: s.total_run_count }
        : { lastRunAt: now, totalRunCount: 0 };
      out.set(e.name, state);
    }
    // Entries dropped from the config disappear from the file, as Celery's merge_inplace does.
    this.states = new Map(out);
    this.dirty = true;
    await this.sync();
    return out;
  }

  async advance(entry: ScheduleEntry, previous: EntryState, next: EntryState): Promise<AdvanceOutcome> {
    const current = this.states.get(entry.name);
    if (current && current.totalRunCount !== previous.totalRunCount) return 'conflict';
    this.states.set(entry.name, next);
    this.dirty = true;
    return 'ok';
  }

  /** Take these states as they are (the copy of a state kept elsewhere, see MirroredStore). */
  replace(states: ReadonlyMap<string, EntryState>): void {
    for (const [name, state] of states) this.states.set(name, state);
    this.dirty = true;
  }

  async sync(): Promise<void> {
    if (!this.dirty) return;
    const content: FileContent = {
      version: 1,
      tz: this.options.timezone,
      utc_enabled: this.options.enableUtc,
      entries: Object.fromEntries(
        [...this.states].map(([name, s]) => [
          name,
          { last_run_at: s.lastRunAt === null ? null : new Date(s.lastRunAt).toISOString(), total_run_count: s.totalRunCount },
        ]),
      ),
    };
    // Write then rename, so a crash mid-write never leaves half a file.
    const tmp = `${this.path}.tmp-${process.pid}`;
    await writeFile(tmp, JSON.stringify(content, null, 2) + '\n');
    await rename(tmp, this.path);
    this.dirty = false;
  }

  async close(): Promise<void> {
    await this.sync();
  }

  private async read(): Promise<FileContent | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    let parsed: FileContent;
    try {
      parsed = JSON.parse(text) as FileContent;
    } catch {
      // Most likely Celery's own pickled shelve: never overwrite it, never unpickle it.
      throw new Error(`beat state file ${this.path} is not ts-celery's JSON (a Python celerybeat-schedule shelve?); use another -s file`);
    }
    if (parsed.version !== 1 || parsed.tz !== this.options.timezone || parsed.utc_enabled !== this.options.enableUtc) return null;
    return parsed;
  }
}
