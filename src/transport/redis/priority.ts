// Priorities on Redis: one list per priority step, lower step served first
// (kombu/transport/redis.py `Channel.priority`, `_q_for_pri`, `_brpop_start`).

export const DEFAULT_PRIORITY_STEPS: readonly number[] = [0, 3, 6, 9];

/**
 * kombu `_get_message_priority`: `int(properties.priority)` clamped to 0..9; anything int() rejects
 * (absent, null, '5.5', an object) counts as 0.
 */
export function clampPriority(value: unknown): number {
  let n: number;
  if (typeof value === 'number' && Number.isFinite(value)) n = Math.trunc(value);
  else if (typeof value === 'boolean') n = value ? 1 : 0;
  else if (typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value)) n = Number.parseInt(value, 10);
  else return 0;
  return Math.max(0, Math.min(9, n));
}

/**
 * The step a priority is filed under: the largest step ≤ p (`steps[bisect(steps, p) - 1]`). Like
 * kombu, a priority below the first step wraps around to the last one (Python's index -1).
 */
export function priorityStep(steps: readonly number[], priority: number): number {
  let i = 0;
  while (i < steps.length && steps[i]! <= priority) i++;
  return i === 0 ? steps[steps.length - 1]! : steps[i - 1]!;
}

/** List name of a step: step 0 → the bare queue name, else `<queue><sep><step>`. */
export function priorityListName(queue: string, step: number, sep: string): string {
  return step ? `${queue}${sep}${step}` : queue;
}

/**
 * Queue order for one fetch under `queue_order_strategy` (kombu/utils/scheduling.py): round_robin
 * and priority keep the consumer's order (round_robin rotates it after each delivery), sorted
 * sorts by name.
 */
export function fetchOrder(queues: readonly string[], strategy: 'round_robin' | 'sorted' | 'priority'): string[] {
  return strategy === 'sorted' ? [...queues].sort() : [...queues];
}

/** round_robin_cycle.rotate: move the queue a message came from to the end of the order. */
export function rotate(order: string[], lastUsed: string): void {
  const i = order.indexOf(lastUsed);
  if (i !== -1) order.push(...order.splice(i, 1));
}

/**
 * BRPOP argument order: for each step, for each queue, so every queue's step-0 list is tried
 * before any step-3 list (`Q1 Q2 Q1<sep>3 Q2<sep>3 …`).
 */
export function stepMajorOrder<T>(queues: readonly string[], steps: readonly number[], listFor: (queue: string, step: number) => T): T[] {
  return steps.flatMap((step) => queues.map((queue) => listFor(queue, step)));
}
