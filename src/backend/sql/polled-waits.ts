// Waits on a SQL result table, shared by the django-db and db+ backends: a table publishes
// nothing, so a wait re-reads the row, as Celery's BaseDictBackend does (`subpolling_interval`,
// 0.5 s for both django_celery_results' and Celery's DatabaseBackend). Closing the backend ends
// every open wait with one error.
import type { TaskMeta } from '../../protocol/result-meta.js';
import type { WaitOptions } from '../result-backend.js';
import { waitForState } from '../wait-for-state.js';
import type { SqlClient } from './sql-client.js';

export class PolledWaits {
  private readonly failWaits = new Set<(error: Error) => void>();

  constructor(
    private readonly read: (taskId: string) => Promise<TaskMeta>,
    private readonly pollIntervalMs: number,
  ) {}

  wait(taskId: string, options: WaitOptions = {}): Promise<TaskMeta> {
    return waitForState(taskId, options, ({ offer, fail }) => {
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      const poll = async () => {
        try {
          offer(await this.read(taskId));
        } catch (error) {
          return fail(error as Error);
        }
        if (!stopped) timer = setTimeout(() => void poll(), this.pollIntervalMs);
      };
      this.failWaits.add(fail);
      void poll();
      return () => {
        stopped = true;
        clearTimeout(timer);
        this.failWaits.delete(fail);
      };
    });
  }

  /** End every open wait (the backend is closing). */
  failAll(error: Error): void {
    for (const fail of [...this.failWaits]) fail(error);
  }
}

/** Run `probe` (a first statement) within `timeoutMs`, or reject naming the database. */
export async function answerWithin<T>(sql: SqlClient, probe: () => Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      probe(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`database ${sql.where}: no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
