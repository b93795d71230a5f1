// Commands that change a worker (`celery control …`): celery/worker/control.py `revoke`,
// `terminate`, `rate_limit`, `time_limit`, `shutdown`, `enable_events`, `disable_events`,
// `heartbeat`, `add_consumer`, `cancel_consumer`, `pool_grow`, `pool_shrink`, `autoscale`;
// replies as in the pidbox-control-* fixtures.
import { pythonRepr } from '../../protocol/repr.js';
import { type CommandContext, type CommandDefinition, NO_REPLY, PythonException } from '../command-registry.js';
import { maybeList } from './inspect-commands.js';

const ok = (value: unknown) => ({ ok: value });
const nok = (value: unknown) => ({ error: value });

/** Python's repr of a set of strings (`{'a', 'b'}`, `set()` when empty). */
function setRepr(items: readonly string[]): string {
  return items.length ? `{${items.map((i) => pythonRepr(i)).join(', ')}}` : 'set()';
}

function ids(value: unknown): string[] {
  return [...new Set(maybeList(value).map(String))];
}

/** celery/worker/control.py `revoke` / `_revoke`: flag, mark in the backend, maybe terminate. */
async function revoke(ctx: CommandContext, taskId: unknown, terminate: unknown, signal: unknown): Promise<unknown> {
  const taskIds = ids(taskId);
  ctx.worker.revoked.update(taskIds);
  await ctx.worker.markRevoked(taskIds);
  if (terminate === true) {
    const done = ctx.worker.terminate(taskIds, typeof signal === 'string' && signal ? signal : 'SIGTERM');
    return ok(done.length ? `terminate: ${done.join(', ')}` : 'terminate: tasks unknown');
  }
  return ok(`tasks ${setRepr(taskIds)} flagged as revoked`);
}

/** Python `float(text)`: the literal forms it accepts, surrounding whitespace allowed. */
function pyFloat(text: string): number {
  const t = text.trim();
  if (/^[+-]?((\d[\d_]*)?\.?\d[\d_]*([eE][+-]?\d+)?|\d+\.)$/.test(t)) return Number(t.replaceAll('_', ''));
  if (/^[+-]?(inf|infinity|nan)$/i.test(t)) return t.toLowerCase().includes('nan') ? Number.NaN : t.startsWith('-') ? -Infinity : Infinity;
  throw new PythonException('ValueError', `could not convert string to float: ${pythonRepr(text)}`);
}

/** celery/utils/time.py `rate`: validates `"100/m"`-style strings the way the command does. */
function checkRate(rateLimit: unknown): void {
  if (!rateLimit || typeof rateLimit !== 'string') return;
  const slash = rateLimit.indexOf('/');
  const ops = slash === -1 ? rateLimit : rateLimit.slice(0, slash);
  const modifier = slash === -1 ? 's' : rateLimit.slice(slash + 1) || 's';
  if (!['s', 'm', 'h'].includes(modifier)) throw new PythonException('KeyError', modifier);
  pyFloat(ops);
}

const num = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() ? pyFloat(v) : null);
const count = (v: unknown): number => (v === undefined || v === null ? 1 : Math.trunc(Number(v)));

export const controlCommands: CommandDefinition[] = [
  {
    name: 'revoke',
    type: 'control',
    help: 'Revoke task by task id (or list of ids).',
    required: ['task_id'],
    variadic: 'task_id',
    signature: '[id1 [id2 [... [idN]]]]',
    handler: (ctx, a) => revoke(ctx, a.task_id, a.terminate, a.signal),
  },
  {
    name: 'terminate',
    type: 'control',
    help: 'Terminate task by task id (or list of ids).',
    required: ['signal', 'task_id'],
    args: [['signal', 'str']],
    variadic: 'task_id',
    signature: '<signal> [id1 [id2 [... [idN]]]]',
    handler: (ctx, a) => revoke(ctx, a.task_id, true, a.signal),
  },
  {
    name: 'rate_limit',
    type: 'control',
    help: 'Tell worker(s) to modify the rate limit for a task by type.',
    required: ['task_name', 'rate_limit'],
    args: [['task_name', 'str'], ['rate_limit', 'str']],
    signature: '<task_name> <rate_limit (e.g., 5/s | 5/m | 5/h)>',
    handler: (ctx, a) => {
      try {
        checkRate(a.rate_limit);
      } catch (error) {
        if (error instanceof PythonException && error.pyType === 'ValueError') return nok(`Invalid rate limit string: ${error.pythonRepr}`);
        throw error;
      }
      const limit = a.rate_limit ? String(a.rate_limit) : null;
      if (!ctx.worker.setRateLimit(String(a.task_name), limit)) return nok('unknown task');
      return ok(limit ? 'new rate limit set successfully' : 'rate limit disabled successfully');
    },
  },
  {
    name: 'time_limit',
    type: 'control',
    help: 'Tell worker(s) to modify the time limit for task by type.',
    args: [['task_name', 'str'], ['soft', 'float'], ['hard', 'float']],
    signature: '<task_name> <soft_secs> [hard_secs]',
    handler: (ctx, a) => {
      const changed = typeof a.task_name === 'string' && ctx.worker.setTimeLimit(a.task_name, { soft: num(a.soft), hard: num(a.hard) });
      return changed ? ok('time limits set successfully') : nok('unknown task');
    },
  },
  {
    name: 'shutdown',
    type: 'control',
    help: 'Shutdown worker(s).',
    handler: (ctx, a) => {
      ctx.worker.shutdown(typeof a.msg === 'string' ? a.msg : 'Got shutdown from remote');
      return NO_REPLY;
    },
  },
  {
    name: 'enable_events',
    type: 'control',
    help: 'Tell worker(s) to send task-related events.',
    handler: (ctx) => {
      const groups = ctx.events?.groups;
      if (!groups) return nok('event dispatcher unavailable');
      // Celery's quirk kept: an empty group set means "all", so it reports "already enabled".
      if (groups.size > 0 && !groups.has('task')) {
        groups.add('task');
        return ok('task events enabled');
      }
      return ok('task events already enabled');
    },
  },
  {
    name: 'disable_events',
    type: 'control',
    help: 'Tell worker(s) to stop sending task-related events.',
    handler: (ctx) => {
      const groups = ctx.events?.groups;
      if (!groups) return nok('event dispatcher unavailable');
      if (groups.delete('task')) return ok('task events disabled');
      return ok('task events already disabled');
    },
  },
  {
    name: 'heartbeat',
    type: 'control',
    help: 'Tell worker(s) to send event heartbeat immediately.',
    handler: (ctx) => {
      // celery/worker/control.py: freq=5 and the software fields only.
      ctx.events?.send('worker-heartbeat', { freq: 5, ...ctx.software });
      return null;
    },
  },
  {
    name: 'add_consumer',
    type: 'control',
    help: 'Tell worker(s) to consume from task queue by name.',
    required: ['queue'],
    args: [['queue', 'str'], ['exchange', 'str'], ['exchange_type', 'str'], ['routing_key', 'str']],
    signature: '<queue> [exchange [type [routing_key]]]',
    handler: async (ctx, a) => {
      const str = (v: unknown) => (typeof v === 'string' && v ? v : null);
      const queue = str(a.queue);
      if (!queue) throw new PythonException('ValueError', `add_consumer needs a queue name, got ${pythonRepr(a.queue ?? null)}`);
      const type = str(a.exchange_type) ?? 'direct';
      if (type !== 'direct' && type !== 'topic' && type !== 'fanout') {
        // kombu would fail declaring it (or the Redis transport refuse it): say so in the reply.
        throw new PythonException('ValueError', `exchange_type must be direct, topic or fanout, got ${pythonRepr(type)}`);
      }
      await ctx.worker.addConsumer({ queue, exchange: str(a.exchange), exchangeType: type, routingKey: str(a.routing_key) });
      return ok(`add consumer ${queue}`);
    },
  },
  {
    name: 'cancel_consumer',
    type: 'control',
    help: 'Tell worker(s) to stop consuming from task queue by name.',
    required: ['queue'],
    args: [['queue', 'str']],
    signature: '<queue>',
    handler: (ctx, a) => {
      ctx.worker.cancelConsumer(String(a.queue));
      return ok(`no longer consuming from ${a.queue}`);
    },
  },
  {
    name: 'pool_grow',
    type: 'control',
    help: 'Grow pool by n processes/threads.',
    args: [['n', 'int']],
    signature: '[N=1]',
    handler: (ctx, a) => {
      ctx.worker.poolGrow(count(a.n));
      return ok('pool will grow');
    },
  },
  {
    name: 'pool_shrink',
    type: 'control',
    help: 'Shrink pool by n processes/threads.',
    args: [['n', 'int']],
    signature: '[N=1]',
    handler: (ctx, a) => {
      ctx.worker.poolShrink(count(a.n));
      return ok('pool will shrink');
    },
  },
  {
    name: 'autoscale',
    type: 'control',
    help: 'Modify autoscale settings.',
    args: [['max', 'int'], ['min', 'int']],
    signature: '[max [min]]',
    handler: () => {
      throw new PythonException('ValueError', 'Autoscale not enabled');
    },
  },
];
