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

  /** Registered names, sorted (as `celery inspect registered` lists them). */
  names(): string[] {
    return [...this.tasks.keys()].sort();
  }

  get size(): number {
    return this.tasks.size;
  }
}
