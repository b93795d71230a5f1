// django-celery-beat's tables as its DatabaseScheduler reads and writes them
// (django_celery_beat/models.py, schedulers.py): the enabled PeriodicTasks with their schedules,
// the change marker `django_celery_beat_periodictasks.last_update` (ident 1) that every admin
// edit bumps, and the writes ModelEntry.save / _disable make (last_run_at, total_run_count,
// enabled, and date_changed, which Django's auto_now sets on every save).
import type { SqlClient } from '../../backend/sql/sql-client.js';
import type { EntryState } from '../schedule-entry.js';
import { DJANGO_TASK_COLUMNS, type DjangoTaskRow, instant } from './django-codec.js';

const TASKS = 'django_celery_beat_periodictask';
const CHANGES = 'django_celery_beat_periodictasks';

export class DjangoStore {
  constructor(readonly db: SqlClient) {}

  /** `PeriodicTask.objects.enabled()` with its schedule joined in. */
  async enabledTasks(): Promise<DjangoTaskRow[]> {
    return this.db.query<DjangoTaskRow & Record<string, unknown>>(
      `SELECT ${DJANGO_TASK_COLUMNS}
       FROM ${TASKS} t
       LEFT JOIN django_celery_beat_intervalschedule i ON i.id = t.interval_id
       LEFT JOIN django_celery_beat_crontabschedule c ON c.id = t.crontab_id
       LEFT JOIN django_celery_beat_solarschedule s ON s.id = t.solar_id
       LEFT JOIN django_celery_beat_clockedschedule k ON k.id = t.clocked_id
       WHERE t.enabled = ?
       ORDER BY t.name`,
      [true],
    );
  }

  /** `PeriodicTasks.last_change()`: null before anything was ever saved. */
  async lastChange(): Promise<number | null> {
    const rows = await this.db.query<{ last_update: Date | string }>(`SELECT last_update FROM ${CHANGES} WHERE ident = 1`);
    return instant(rows[0]?.last_update ?? null);
  }

  /**
   * The run recorded before the message is published (`reserve` + `ModelEntry.save`), only if
   * the row is still enabled and at the run count we read: a second beat that got there first,
   * or an admin who disabled the task meanwhile, makes it `false` and nothing is sent.
   */
  async advance(id: number, previous: EntryState, next: EntryState, at: number): Promise<boolean> {
    const changed = await this.db.execute(
      `UPDATE ${TASKS} SET last_run_at = ?, total_run_count = ?, date_changed = ? WHERE id = ? AND enabled = ? AND total_run_count = ?`,
      [new Date(next.lastRunAt ?? at), next.totalRunCount, new Date(at), id, true, previous.totalRunCount],
    );
    return changed === 1;
  }

  /**
   * `ModelEntry._disable` (expired, or arguments that are not JSON): enabled off, and
   * `PeriodicTask.save` clears last_run_at; no change marker (no_changes = True).
   * With `resetRunCount` it is the one-off path of `ModelEntry.is_due`: total_run_count back to
   * 0 and the change marker bumped (no_changes = False).
   */
  async disable(id: number, at: number, { resetRunCount = false } = {}): Promise<void> {
    const reset = resetRunCount ? ', total_run_count = 0' : '';
    await this.db.execute(`UPDATE ${TASKS} SET enabled = ?, last_run_at = NULL, date_changed = ?${reset} WHERE id = ?`, [false, new Date(at), id]);
    if (resetRunCount) await this.markChanged(at);
  }

  /** `PeriodicTasks.update_changed`: update_or_create(ident=1, last_update=now). */
  async markChanged(at: number): Promise<void> {
    const updated = await this.db.execute(`UPDATE ${CHANGES} SET last_update = ? WHERE ident = 1`, [new Date(at)]);
    if (updated === 0) await this.db.execute(`INSERT INTO ${CHANGES} (ident, last_update) VALUES (1, ?)`, [new Date(at)]);
  }

  /** The tables exist (Django's `migrate` ran): a clear error at start-up otherwise. */
  async check(): Promise<void> {
    try {
      await this.db.query(`SELECT id FROM ${TASKS} WHERE id = 0`);
    } catch (error) {
      throw new Error(`${this.db.where}: cannot read ${TASKS} (did \`python manage.py migrate\` run with django_celery_beat installed?): ${(error as Error).message}`, { cause: error });
    }
  }
}
