// App-level signals, the TypeScript side of Celery's celery.signals: task_prerun, task_postrun,
// task_success, task_failure, task_retry, worker_ready, worker_shutdown. A failing receiver is
// reported to the worker's log and never changes the task's outcome (Celery's Signal.send).
import type { TaskContext } from './registry/task-definition.js';

export interface SignalPayloads {
  task_prerun: { taskId: string; task: string; args: unknown[]; kwargs: Record<string, unknown>; ctx: TaskContext };
  task_postrun: { taskId: string; task: string; args: unknown[]; kwargs: Record<string, unknown>; retval: unknown; state: string; ctx: TaskContext };
  task_success: { result: unknown; ctx: TaskContext };
  task_failure: { taskId: string; exception: unknown; traceback: string; ctx: TaskContext };
  task_retry: { reason: unknown; ctx: TaskContext };
  worker_ready: { hostname: string };
  worker_shutdown: { hostname: string };
}

export type SignalName = keyof SignalPayloads;
type Receiver<K extends SignalName> = (payload: SignalPayloads[K]) => void | Promise<void>;

export class Signals {
  private readonly receivers = new Map<SignalName, Set<Receiver<SignalName>>>();

  /** Connect a receiver; returns a function that disconnects it. */
  connect<K extends SignalName>(name: K, receiver: Receiver<K>): () => void {
    let set = this.receivers.get(name);
    if (!set) this.receivers.set(name, (set = new Set()));
    set.add(receiver as Receiver<SignalName>);
    return () => set.delete(receiver as Receiver<SignalName>);
  }

  /** Whether any receiver is connected (senders skip building the payload when not). */
  has(name: SignalName): boolean {
    return (this.receivers.get(name)?.size ?? 0) > 0;
  }

  /** Call every receiver; resolves to the errors they raised (the sender logs them). */
  async send<K extends SignalName>(name: K, payload: SignalPayloads[K]): Promise<unknown[]> {
    const set = this.receivers.get(name);
    if (!set || set.size === 0) return [];
    const errors: unknown[] = [];
    for (const receiver of set) {
      try {
        await receiver(payload);
      } catch (error) {
        errors.push(error);
      }
    }
    return errors;
  }
}
