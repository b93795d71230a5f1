// `ts-celery purge`: delete every waiting message of the given queues (Python's `celery purge`).
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { addConnectionOptions, appFromFlags, type ConnectionFlags } from '../app-from-flags.js';
import { queueList } from '../options.js';

export function registerPurgeCommand(program: Command): void {
  const command = program
    .command('purge')
    .description('Erase all messages from the queues (default: task_default_queue)')
    .option('-Q, --queues <q1,q2>', 'queues to purge', queueList)
    .option('-f, --force', 'do not ask for confirmation');
  addConnectionOptions(command).action(async (flags: ConnectionFlags & { queues?: string[]; force?: boolean }) => {
    const app = await appFromFlags(flags, 'purge');
    try {
      const queues = flags.queues ?? [app.conf.task_default_queue];
      if (!flags.force) {
        if (!process.stdin.isTTY) throw new Error('refusing to purge without confirmation: pass -f to purge non-interactively');
        const rl = createInterface({ input: process.stdin, output: process.stdout });
        const answer = await rl.question(`You are about to delete all messages of ${queues.join(', ')}. Are you sure? [yes/NO] `);
        rl.close();
        if (!/^y(es)?$/i.test(answer.trim())) return;
      }
      let total = 0;
      for (const queue of queues) total += await app.transport.purge(queue);
      process.stdout.write(`Purged ${total} message${total === 1 ? '' : 's'} from ${queues.length} known task queue${queues.length === 1 ? '' : 's'}.\n`);
    } finally {
      await app.close();
    }
  });
}
