// `ts-celery call NAME`: send a task by name (Python's `celery call`), optionally wait for it.
import type { Command } from 'commander';
import { addConnectionOptions, appFromFlags, type ConnectionFlags } from '../app-from-flags.js';
import { json, seconds } from '../options.js';
import { printResult } from '../output.js';

interface CallFlags extends ConnectionFlags {
  args: unknown[];
  kwargs: Record<string, unknown>;
  queue?: string;
  routingKey?: string;
  exchange?: string;
  countdown?: number;
  eta?: string;
  expires?: number;
  priority?: number;
  wait?: boolean;
  timeout?: number;
}

export function registerCallCommand(program: Command): void {
  const command = program
    .command('call <name>')
    .description('Send a task by name and print its id (or its result with --wait)')
    .option('-a, --args <json>', 'positional arguments as a JSON array', json('--args', 'array'), [])
    .option('-k, --kwargs <json>', 'keyword arguments as a JSON object', json('--kwargs', 'object'), {})
    .option('--queue <name>', 'queue to send to')
    .option('--routing-key <key>', 'routing key')
    .option('--exchange <name>', 'exchange')
    .option('--countdown <s>', 'run no earlier than this many seconds from now', seconds('--countdown'))
    .option('--eta <iso>', 'run no earlier than this ISO-8601 time')
    .option('--expires <s>', 'discard if not started within this many seconds', seconds('--expires'))
    .option('--priority <n>', 'message priority 0-9', (v) => Number(v))
    .option('--wait', 'wait for the result and print it')
    .option('--timeout <s>', 'with --wait: give up after this many seconds', seconds('--timeout'));
  addConnectionOptions(command).action(async (name: string, flags: CallFlags) => {
    const app = await appFromFlags(flags, 'call');
    try {
      const result = await app.sendTask(name, flags.args, flags.kwargs, {
        queue: flags.queue,
        routing_key: flags.routingKey,
        exchange: flags.exchange,
        countdown: flags.countdown,
        eta: flags.eta,
        expires: flags.expires,
        priority: flags.priority,
      });
      if (!flags.wait) {
        process.stdout.write(`${result.id}\n`);
        return;
      }
      printResult(await result.get({ timeout: flags.timeout }));
    } finally {
      await app.close();
    }
  });
}
