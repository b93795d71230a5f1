// `ts-celery events`: dump the event stream as Python's `celery events --dump` does
// (celery/events/dumper.py), or one JSON object per line with --json.
import type { Command } from 'commander';
import { ControlClient } from '../../control/control-client.js';
import { EventReceiver } from '../../control/events/event-receiver.js';
import type { CeleryEvent } from '../../control/events/event.js';
import { addConnectionOptions, appFromFlags, type ConnectionFlags } from '../app-from-flags.js';
import { positiveInt, seconds } from '../options.js';

const HUMAN_TYPES: Record<string, string> = { 'worker-offline': 'shutdown', 'worker-online': 'started', 'worker-heartbeat': 'heartbeat' };

/** Python `datetime.fromtimestamp(ts, timezone.utc)` printed with str(): `2026-01-01 12:00:00.123456+00:00`. */
function pyUtc(ts: number): string {
  const d = new Date(Math.floor(ts * 1000));
  const micros = Math.round((ts - Math.floor(ts)) * 1e6) % 1e6;
  const base = d.toISOString().slice(0, 19).replace('T', ' ');
  return `${base}${micros ? `.${String(micros).padStart(6, '0')}` : ''}+00:00`;
}

const pyStr = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** celery/events/dumper.py `Dumper.on_event` (one line per event). */
export function dumpLine(event: CeleryEvent, taskNames: Map<string, string>): string {
  const { timestamp, type: rawType, hostname, ...rest } = event as Record<string, unknown>;
  const type = String(rawType).toLowerCase();
  const human = HUMAN_TYPES[type] ?? type.replaceAll('-', ' ');
  let task = '';
  const fields: Record<string, unknown> = { ...rest };
  if (type.startsWith('task-')) {
    const uuid = String(fields.uuid);
    delete fields.uuid;
    if (type === 'task-received' || type === 'task-sent') {
      task = `${fields.name}(${uuid}) args=${pyStr(fields.args)} kwargs=${pyStr(fields.kwargs)}`;
      taskNames.set(uuid, task);
      for (const k of ['name', 'args', 'kwargs']) delete fields[k];
    } else task = taskNames.get(uuid) ?? '';
  }
  const text = Object.keys(fields).sort().map((k) => `${k}=${pyStr(fields[k])}`).join(', ');
  const sep = text ? ':' : '';
  const when = pyUtc(Number(timestamp));
  return type.startsWith('task-') ? `${hostname} [${when}] ${human}${sep} ${task} ${text}` : `${hostname} [${when}] ${human}${sep} ${text}`;
}

export function registerEventsCommand(program: Command): void {
  const command = program
    .command('events')
    .description('Dump the event stream (celery events --dump)')
    .option('-d, --dump', 'dump events to stdout (what this command always does; Celery without it opens its curses monitor)')
    .option('-j, --json', 'one JSON object per event')
    .option('--limit <n>', 'exit after n events', positiveInt('--limit'))
    .option('--duration <seconds>', 'exit after this many seconds', seconds('--duration'))
    .option('--no-wakeup', 'do not ask workers for an immediate heartbeat');
  addConnectionOptions(command).action(async (flags: ConnectionFlags & { json?: boolean; limit?: number; duration?: number; wakeup: boolean }) => {
    const app = await appFromFlags(flags, 'events');
    const names = new Map<string, string>();
    let seen = 0;
    let finish: () => void = () => {};
    const done = new Promise<void>((r) => (finish = r));
    const receiver = new EventReceiver({
      transport: app.transport,
      exchange: app.conf.event_exchange,
      onEvent: (event) => {
        if (flags.limit && seen >= flags.limit) return;
        seen++;
        process.stdout.write(`${flags.json ? JSON.stringify(event) : dumpLine(event, names)}\n`);
        if (flags.limit && seen >= flags.limit) finish();
      },
    });
    const client = new ControlClient(app.transport, { namespace: app.conf.control_exchange, oid: app.oid });
    const stop = () => finish();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const timer = flags.duration !== undefined ? setTimeout(stop, flags.duration * 1000) : undefined;
    try {
      if (!flags.json) process.stdout.write('-> evdump: starting capture...\n');
      await receiver.start();
      // celery/events/receiver.py `wakeup_workers`: ask for a heartbeat at once.
      if (flags.wakeup) await client.broadcast('heartbeat', {}, { reply: false });
      await done;
    } finally {
      clearTimeout(timer);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await receiver.close();
      await client.close();
      await app.close();
    }
  });
}
