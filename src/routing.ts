// Where a task message goes: task_routes lookup and queue expansion (celery/app/routes.py
// `Router.route`, `Router.expand_destination`) and the "direct exchanges collapse to the default
// exchange" rule of celery/app/amqp.py `AMQP._create_task_sender` (its `send_task_message`).
import type { CeleryConfig, RouteOptions, RouterFunction } from './config.js';
import { ConfigError } from './errors.js';
import type { ExchangeType, PublishTarget, QueueSpec } from './transport/transport.js';

/** The explicit destination options of one call (`apply_async(queue=…, exchange=…, …)`). */
export interface DestinationOptions {
  queue?: string;
  exchange?: string;
  routing_key?: string;
  priority?: number;
}

// celery/utils/nodenames.py WORKER_DIRECT_EXCHANGE / WORKER_DIRECT_QUEUE_FORMAT.
const WORKER_DIRECT_EXCHANGE = 'C.dq2';
const WORKER_DIRECT_SUFFIX = '.dq2';

/**
 * Where to send a task for one worker only (Celery's `worker_direct(hostname)`; that worker runs
 * with `worker_direct: true`): `app.sendTask(name, args, kwargs, workerDirect('w1@host'))`.
 */
export function workerDirect(hostname: string): { queue: string } {
  return { queue: `${hostname}${WORKER_DIRECT_SUFFIX}` };
}

/** The resolved destination: the queue to declare and where to publish. */
export interface Route {
  queue: QueueSpec | null;
  target: PublishTarget;
  priority: number | undefined;
}

type CompiledRoute = (name: string, args: unknown[], kwargs: Record<string, unknown>, options: Record<string, unknown>) => RouteOptions | null;

export class Router {
  private readonly routes: CompiledRoute[];
  private readonly queues = new Map<string, QueueSpec>();

  constructor(private readonly config: CeleryConfig) {
    this.routes = compileRoutes(config.task_routes);
    for (const q of config.task_queues) {
      this.queues.set(q.name, {
        name: q.name,
        exchange: q.exchange ?? q.name,
        exchangeType: q.exchange_type ?? 'direct',
        routingKey: q.routing_key ?? q.name,
        ...this.attributes(q.name, q.queue_arguments ?? {}, q.max_priority),
      });
    }
  }

  /** The declaration of a queue: from `task_queues`, or created on the fly (task_create_missing_queues). */
  queue(name: string): QueueSpec {
    const known = this.queues.get(name);
    if (known) return known;
    if (name.endsWith(WORKER_DIRECT_SUFFIX) && name.length > WORKER_DIRECT_SUFFIX.length) return this.workerDirectQueue(name);
    if (!this.config.task_create_missing_queues) {
      throw new ConfigError(`queue '${name}' is not defined in task_queues and task_create_missing_queues is off`);
    }
    const isDefault = name === this.config.task_default_queue;
    const spec: QueueSpec = {
      name,
      exchange: isDefault ? (this.config.task_default_exchange ?? name) : name,
      exchangeType: isDefault ? this.config.task_default_exchange_type : 'direct',
      routingKey: isDefault ? (this.config.task_default_routing_key ?? name) : name,
      // celery/app/amqp.py `AMQP.Queues` (the default queue, when task_queues is empty) and
      // `Queues.new_missing` (any other queue) choose the type.
      ...this.attributes(name, queueType(isDefault && this.config.task_queues.length === 0 ? this.config.task_default_queue_type : this.config.task_create_missing_queue_type)),
    };
    this.queues.set(name, spec);
    return spec;
  }

  /**
   * `add_consumer`: celery/worker/consumer/consumer.py `add_task_queue` — a known queue keeps its
   * declaration; another is created with the given exchange (default: the queue's name), type
   * (default direct) and routing key (default: the queue's name, kombu `Queues.add_compat`), and
   * remembered, so `active_queues` and the banner show it as declared.
   */
  addQueue(name: string, options: { exchange?: string | null; exchangeType?: ExchangeType | null; routingKey?: string | null } = {}): QueueSpec {
    const known = this.queues.get(name);
    if (known) return known;
    const spec: QueueSpec = {
      name,
      exchange: options.exchange ?? name,
      exchangeType: options.exchangeType ?? 'direct',
      routingKey: options.routingKey ?? name,
      ...this.attributes(name, queueType(this.config.task_create_missing_queue_type)),
    };
    this.queues.set(name, spec);
    return spec;
  }

  /**
   * RabbitMQ queue arguments: the queue's own, plus `x-max-priority` where a priority is
   * configured. A quorum queue has no `x-max-priority` (RabbitMQ refuses the declaration), so
   * asking for both is a configuration error rather than a broker error at start-up.
   */
  private attributes(name: string, args: Record<string, unknown> = {}, maxPriority?: number): Pick<QueueSpec, 'attributes'> {
    const priority = maxPriority ?? args['x-max-priority'] ?? this.config.task_queue_max_priority;
    if (priority && args['x-queue-type'] === 'quorum') {
      throw new ConfigError(
        `queue '${name}' is a quorum queue, and quorum queues do not support priorities (x-max-priority ${String(priority)} from ${maxPriority ? 'its max_priority' : args['x-max-priority'] ? 'its queue_arguments' : 'task_queue_max_priority'}): use a classic queue for priorities, or drop the priority`,
      );
    }
    const all = priority ? { ...args, 'x-max-priority': priority } : args;
    return Object.keys(all).length ? { attributes: { arguments: all } } : {};
  }

  /**
   * `worker_direct`'s queue for a worker (celery/utils/nodenames.py `worker_direct`), by its name
   * `<hostname>.dq2`: bound to the direct exchange `C.dq2` with the node name as routing key,
   * auto-deleted with its consumer, a classic queue whatever the default queue type — declared
   * the same by the worker and by whoever sends to it, as Celery's producers do.
   */
  private workerDirectQueue(name: string): QueueSpec {
    const hostname = name.slice(0, -WORKER_DIRECT_SUFFIX.length);
    const spec: QueueSpec = { name, exchange: WORKER_DIRECT_EXCHANGE, exchangeType: 'direct', routingKey: hostname, attributes: { autoDelete: true } };
    this.queues.set(name, spec);
    return spec;
  }

  /** True when the queue is declared quorum by the configuration. */
  isQuorum(name: string): boolean {
    return this.queue(name).attributes?.arguments?.['x-queue-type'] === 'quorum';
  }

  private lookup(name: string, args: unknown[], kwargs: Record<string, unknown>, explicit: DestinationOptions): RouteOptions | null {
    for (const lookup of this.routes) {
      const found = lookup(name, args, kwargs, explicit as Record<string, unknown>);
      if (found) return found;
    }
    return null;
  }

  /** Resolve a call's destination: explicit options win over task_routes, which win over the default queue. */
  route(name: string, args: unknown[], kwargs: Record<string, unknown>, explicit: DestinationOptions): Route {
    let merged: DestinationOptions & { exchange_type?: ExchangeType } = stripUndefined(explicit);
    const found = this.lookup(name, args, kwargs, explicit);
    if (found) {
      // lpmerge(route, options): an explicit value wins, the route fills the gaps. (Not
      // `{ ...found, ...merged }`: a spread followed by more properties gives every object its
      // own map in Node 20's V8, and this runs on every sendTask.)
      merged = Object.assign({}, found, merged);
    } else if (merged.queue === undefined) {
      merged.queue = this.config.task_default_queue;
    }
    const queue = merged.queue !== undefined ? this.queue(merged.queue) : null;
    if (explicit.priority !== undefined && queue?.attributes?.arguments?.['x-queue-type'] === 'quorum') {
      throw new ConfigError(`queue '${queue.name}' is a quorum queue: quorum queues do not support message priorities (priority=${explicit.priority}); send without priority or route to a classic queue`);
    }
    const exchangeType: ExchangeType = merged.exchange_type ?? queue?.exchangeType ?? 'direct';
    let target: PublishTarget;
    if ((!merged.exchange || !merged.routing_key) && exchangeType === 'direct') {
      // celery/app/amqp.py: "convert to anon-exchange, when exchange not set and direct ex."
      target = { exchange: '', routingKey: queue?.name ?? merged.routing_key ?? '' };
    } else {
      target = {
        exchange: merged.exchange ?? queue?.exchange ?? '',
        routingKey: merged.routing_key ?? queue?.routingKey ?? '',
        exchangeType,
      };
    }
    return { queue, target, priority: merged.priority ?? this.config.task_default_priority ?? undefined };
  }
}

function queueType(type: 'classic' | 'quorum'): Record<string, unknown> {
  return type === 'quorum' ? { 'x-queue-type': 'quorum' } : {};
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function asRoute(value: RouteOptions | string | null | undefined): RouteOptions | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? { queue: value } : value;
}

/** Glob as Celery's `glob_to_re`: `*` matches any run of characters, anchored. */
function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${body}$`);
}

function compileRoutes(routes: CeleryConfig['task_routes']): CompiledRoute[] {
  if (routes === null) return [];
  const entries = Array.isArray(routes) && !(routes.length === 2 && routes[0] instanceof RegExp) ? routes : [routes];
  return entries.map((entry): CompiledRoute => {
    if (typeof entry === 'function') {
      const fn = entry as RouterFunction;
      return (name, args, kwargs, options) => asRoute(fn(name, args, kwargs, options));
    }
    if (Array.isArray(entry)) {
      const [pattern, route] = entry as [RegExp, RouteOptions | string];
      return (name) => (pattern.test(name) ? asRoute(route) : null);
    }
    // Exact names are looked up first, then globs in declaration order (celery/app/routes.py MapRoute).
    const exact = new Map<string, RouteOptions>();
    const globs: [RegExp, RouteOptions][] = [];
    for (const [pattern, route] of Object.entries(entry as Record<string, RouteOptions | string>)) {
      if (pattern.includes('*')) globs.push([globToRegExp(pattern), asRoute(route)!]);
      else exact.set(pattern, asRoute(route)!);
    }
    return (name) => exact.get(name) ?? globs.find(([re]) => re.test(name))?.[1] ?? null;
  });
}
