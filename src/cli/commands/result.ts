// `ts-celery result ID`: print a task's result, waiting for it (Python's `celery result`).
import type { Command } from 'commander';
import { addConnectionOptions, appFromFlags, type ConnectionFlags } from '../app-from-flags.js';
import { seconds } from '../options.js';
import { printResult } from '../output.js';

export function registerResultCommand(program: Command): void {
  const command = program
    .command('result <id>')
    .description("Wait for a task's result and print it (errors exit non-zero)")
    .option('--timeout <s>', 'give up after this many seconds', seconds('--timeout'));
  addConnectionOptions(command).action(async (id: string, flags: ConnectionFlags & { timeout?: number }) => {
    const app = await appFromFlags(flags, 'result');
    try {
      printResult(await app.AsyncResult(id).get({ timeout: flags.timeout }));
    } finally {
      await app.close();
    }
  });
}
