// The set of tasks a worker can run, by name (Celery's app.tasks).
import { ConfigError } from '../errors.js';
import type { TaskDefinition } from './task-definition.js';

export class TaskRegistry {
  private readonly tasks = new Map<string, TaskDefinition>();

  register(definition: TaskDefinition): void {
    if (this.tasks.has(definition.name)) throw new ConfigError(`task '${definition.name}' is already registered`);
    this.tasks.set(definition.name, definition);
  }

  get(name: string): TaskDefinition | undefined {
    return this.tasks.get(name);
  }

  /**
   * Registered names, sorted; Celery's built-ins (`celery.*`) only with `builtins`, as
   * `celery inspect registered` and the worker banner list them.
   */
  names({ builtins = false }: { builtins?: boolean } = {}): string[] {
    return [...this.tasks.keys()].filter((name) => builtins || !name.startsWith('celery.')).sort();
  }

  get size(): number {
    return this.tasks.size;
  }
}
