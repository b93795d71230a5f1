// Result backend key names (celery-wire.md §8.1; celery/backends/base.py KeyValueStoreBackend).
// `global_keyprefix` gets an underscore unless it already ends in one of `:_-.` (Celery ≥5.3).

export class ResultKeys {
  readonly prefix: string;

  constructor(globalKeyprefix = '') {
    this.prefix = globalKeyprefix && !/[:_.-]$/.test(globalKeyprefix) ? `${globalKeyprefix}_` : globalKeyprefix;
  }

  task(taskId: string): string {
    return `${this.prefix}celery-task-meta-${taskId}`;
  }

  group(groupId: string): string {
    return `${this.prefix}celery-taskset-meta-${groupId}`;
  }
}
