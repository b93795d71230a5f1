// django-celery-results' chord counter (django_celery_results/backends/database.py
// `DatabaseBackend.apply_chord`, `on_chord_part_return`; models.py `ChordCounter`): one row per
// running chord in django_celery_results_chordcounter holding the header's result tuples
// (`sub_tasks`, JSON) and how many header tasks are still to finish (`count`). Each finished
// header task decrements it under SELECT … FOR UPDATE; the one that reaches 0 deletes the row and
// joins the header's results from the task table (`trigger_callback`). Python and TypeScript
// workers count on the same row.
import { DecodeError } from '../../errors.js';
import { jsonDecode, jsonEncode } from '../../protocol/codecs/json.js';
import type { ResultTuple, TaskMeta } from '../../protocol/result-meta.js';
import { READY_STATES } from '../../protocol/states.js';
import { type ChordCounter, type ChordPart, type ChordPartOutcome, headerIds, joinHeader } from '../chord-counter.js';
import type { SqlClient, SqlRow } from '../sql/sql-client.js';

const TABLE = 'django_celery_results_chordcounter';

interface CounterRow extends SqlRow {
  id: number | string;
  sub_tasks: string;
  count: number | string;
}

export class DjangoChordCounter implements ChordCounter {
  constructor(
    private readonly sql: SqlClient,
    /** The task table's reader (DjangoBackend.getMeta): the header's results are joined from it. */
    private readonly readMeta: (taskId: string) => Promise<TaskMeta>,
  ) {}

  /** `apply_chord`: `ChordCounter.objects.create(group_id, sub_tasks=json.dumps(results), count=len(results))`. */
  async applyChord(groupId: string, header: ResultTuple[]): Promise<void> {
    await this.sql.execute(`INSERT INTO ${TABLE} (group_id, sub_tasks, count) VALUES (?, ?, ?)`, [groupId, jsonEncode(header), header.length]);
  }

  /**
   * `on_chord_part_return`: decrement in a transaction; at 0 the row is deleted and the header's
   * results read back. As in django-celery-results, a missing row (no apply_chord, or the chord
   * already fired) and a header result not ready yet stop the chord; both are reported.
   */
  async onChordPartReturn(part: ChordPart): Promise<ChordPartOutcome> {
    const where = `${TABLE}(group_id=${part.groupId})`;
    const subTasks = await this.sql.transaction(async (tx) => {
      const [row] = await tx.query<CounterRow>(`SELECT id, sub_tasks, count FROM ${TABLE} WHERE group_id = ? FOR UPDATE`, [part.groupId]);
      if (!row) throw new Error(`no chord counter ${where}: the chord was not applied through django-db, or it already completed`);
      const count = Number(row.count) - 1;
      if (count !== 0) {
        await tx.execute(`UPDATE ${TABLE} SET count = ? WHERE id = ?`, [count, row.id]);
        return null;
      }
      await tx.execute(`DELETE FROM ${TABLE} WHERE id = ?`, [row.id]);
      return row.sub_tasks;
    });
    if (subTasks === null) return { complete: false };
    const header = decodeSubTasks(subTasks, where);
    const metas = new Map(await Promise.all(headerIds(header).map(async (id) => [id, await this.readMeta(id)] as const)));
    const results = joinHeader(header, (id) => metas.get(id)!);
    // `trigger_callback` only runs when `deps.ready()`: every header task stored before it counted.
    const pending = results.find((entry) => !READY_STATES.has(entry.state));
    if (pending) throw new Error(`chord ${part.groupId}: header task ${pending.taskId} is ${pending.state} although ${where} reached 0; the callback is not sent`);
    return { complete: true, results, savedGroup: null, claimToken: '' };
  }

  /** The row was deleted when the count reached 0: nothing is held. */
  async finishChord(): Promise<void> {}
}

function decodeSubTasks(text: string, where: string): ResultTuple[] {
  let value: unknown;
  try {
    value = jsonDecode(text);
  } catch (cause) {
    throw new DecodeError(`sub_tasks in ${where} is not valid JSON`, { cause });
  }
  if (!Array.isArray(value) || !value.every((t) => Array.isArray(t) && Array.isArray(t[0]) && typeof t[0][0] === 'string')) {
    throw new DecodeError(`sub_tasks in ${where} is not a list of result tuples: ${text.slice(0, 80)}`);
  }
  return value as ResultTuple[];
}
