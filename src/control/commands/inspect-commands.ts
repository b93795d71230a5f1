// Read-only commands (`celery inspect …`): celery/worker/control.py `ping`, `stats`, `active`,
// `reserved`, `scheduled`, `registered`, `revoked`, `active_queues`, `query_task`, `conf`,
// `report`, `clock`, `hello`; reply shapes as in the pidbox-inspect-* fixtures.
import { arch, release, type as osType } from 'node:os';
import type { CommandContext, CommandDefinition } from '../command-registry.js';
import type { RequestInfo } from '../worker-info.js';

/** celery/worker/control.py DEFAULT_TASK_INFO_ITEMS: shown when set and no items are asked for. */
const DEFAULT_TASK_INFO_ITEMS = ['exchange', 'routing_key', 'rate_limit'];
/** celery/worker/strategy.py: ETA requests enter the timer with priority 6. */
const ETA_TIMER_PRIORITY = 6;

const ok = (value: unknown) => ({ ok: value });

/** Python `maybe_list`: a single value becomes a one-item list; null stays empty. */
export function maybeList(value: unknown): unknown[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Python `str(value)` for the simple values task attributes hold. */
function pyStr(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}

function stateOf(ctx: CommandContext, id: string): [string, RequestInfo] | null {
  const w = ctx.worker;
  const active = w.activeRequests().find((r) => r.id === id);
  if (active) return ['active', active];
  const reserved = w.reservedRequests().find((r) => r.id === id);
  if (reserved) return ['reserved', reserved];
  const scheduled = w.scheduledRequests().find((s) => s.request.id === id);
  return scheduled ? ['scheduled', scheduled.request] : null;
}

/** resource.getrusage(RUSAGE_SELF) as celery/worker/worker.py `rusage` names the fields. */
function rusage(): Record<string, number> {
  const r = process.resourceUsage();
  return {
    utime: r.userCPUTime / 1e6,
    stime: r.systemCPUTime / 1e6,
    maxrss: r.maxRSS,
    ixrss: r.sharedMemorySize,
    idrss: r.unsharedDataSize,
    isrss: r.unsharedStackSize,
    minflt: r.minorPageFault,
    majflt: r.majorPageFault,
    nswap: r.swappedOut,
    inblock: r.fsRead,
    oublock: r.fsWrite,
    msgsnd: r.ipcSent,
    msgrcv: r.ipcReceived,
    nsignals: r.signalsCount,
    nvcsw: r.voluntaryContextSwitches,
    nivcsw: r.involuntaryContextSwitches,
  };
}

/** `app.bugreport()` in spirit: software, platform, and the worker's non-default settings. */
function bugreport(ctx: CommandContext): string {
  const sw = ctx.software;
  const settings = Object.entries(ctx.worker.conf(false))
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join('\n');
  return [
    `software -> ${sw.sw_ident}:${sw.sw_ver} node:${process.versions.node}`,
    `platform -> system:${osType()} arch:${arch()} kernel version:${release()}`,
    `settings -> hostname:${ctx.hostname}`,
    '',
    settings,
  ].join('\n');
}

export const inspectCommands: CommandDefinition[] = [
  { name: 'ping', type: 'inspect', help: 'Ping worker(s).', handler: () => ok('pong') },
  {
    name: 'stats',
    type: 'inspect',
    help: 'Request worker statistics/information.',
    handler: (ctx) => {
      const s = ctx.worker.stats();
      return { total: s.total, pid: process.pid, clock: String(ctx.clock.value), uptime: s.uptime, pool: s.pool, broker: s.broker, prefetch_count: s.prefetch_count, rusage: rusage() };
    },
  },
  { name: 'active', alias: 'dump_active', type: 'inspect', help: 'List of tasks currently being executed.', handler: (ctx) => ctx.worker.activeRequests() },
  {
    name: 'reserved',
    alias: 'dump_reserved',
    type: 'inspect',
    help: 'List of currently reserved tasks, not including scheduled/active.',
    handler: (ctx) => {
      const active = new Set(ctx.worker.activeRequests().map((r) => r.id));
      return ctx.worker.reservedRequests().filter((r) => !active.has(r.id));
    },
  },
  {
    name: 'scheduled',
    alias: 'dump_schedule',
    type: 'inspect',
    help: 'List of currently scheduled ETA/countdown tasks.',
    handler: (ctx) => ctx.worker.scheduledRequests().map((s) => ({ eta: s.eta, priority: ETA_TIMER_PRIORITY, request: s.request })),
  },
  {
    name: 'registered',
    alias: 'dump_tasks',
    type: 'inspect',
    help: 'List of registered tasks.',
    variadic: 'taskinfoitems',
    signature: '[attr1 [attr2 [... [attrN]]]]',
    handler: (ctx, args) => {
      const asked = maybeList(args.taskinfoitems);
      const items = (asked.length ? asked : DEFAULT_TASK_INFO_ITEMS).filter((i): i is string => typeof i === 'string' && !i.startsWith('_'));
      return ctx.worker
        .registeredTasks()
        .filter((t) => args.builtins === true || !t.name.startsWith('celery.'))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((t) => {
          const fields = items.filter((i) => t.attributes?.[i] !== undefined && t.attributes?.[i] !== null).map((i) => `${i}=${pyStr(t.attributes![i])}`);
          return fields.length ? `${t.name} [${fields.join(' ')}]` : t.name;
        });
    },
  },
  { name: 'revoked', alias: 'dump_revoked', type: 'inspect', help: 'List of revoked task-ids.', handler: (ctx) => ctx.worker.revoked.toList() },
  { name: 'active_queues', type: 'inspect', help: 'List the task queues a worker is currently consuming from.', handler: (ctx) => ctx.worker.activeQueues() },
  {
    name: 'query_task',
    type: 'inspect',
    help: 'Query for task information by id.',
    required: ['ids'],
    variadic: 'ids',
    signature: '[id1 [id2 [... [idN]]]]',
    handler: (ctx, args) => {
      const out: Record<string, [string, RequestInfo]> = {};
      for (const id of maybeList(args.ids)) {
        const found = typeof id === 'string' ? stateOf(ctx, id) : null;
        if (found) out[id as string] = found;
      }
      return out;
    },
  },
  {
    name: 'conf',
    alias: 'dump_conf',
    type: 'inspect',
    help: 'List configuration.',
    args: [['with_defaults', 'bool']],
    signature: '[include_defaults=False]',
    handler: (ctx, args) => ctx.worker.conf(args.with_defaults === true || args.with_defaults === 'true' || args.with_defaults === 1),
  },
  { name: 'report', type: 'inspect', help: 'Information about Celery installation for bug reports.', handler: (ctx) => ok(bugreport(ctx)) },
  { name: 'clock', type: 'inspect', help: 'Get current logical clock value.', handler: (ctx) => ({ clock: ctx.clock.value }) },
  {
    name: 'hello',
    type: 'inspect',
    visible: false,
    help: 'Request mingle sync-data.',
    required: ['from_node'],
    handler: (ctx, args) => {
      // A node ignores its own hello (reply null), as Celery does.
      if (args.from_node === ctx.hostname) return null;
      const revoked = ctx.worker.revoked;
      const theirs = args.revoked;
      // 5.7 sends the ids as a list; older workers a {id: stamp} dict — only the ids are taken.
      const ids = Array.isArray(theirs) ? theirs : theirs && typeof theirs === 'object' ? Object.keys(theirs) : [];
      revoked.update(ids.filter((i): i is string => typeof i === 'string'));
      revoked.purge();
      return { revoked: revoked.toList(), clock: ctx.clock.forward() };
    },
  },
];
