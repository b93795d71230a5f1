// `ts-celery status`: list the workers that answer a ping (Python's `celery status`).
import type { Command } from 'commander';
import { addRemoteOptions, type RemoteFlags, runRemote } from './control.js';

export function registerStatusCommand(program: Command): void {
  const command = program.command('status').description('Show list of workers that are online (celery status)');
  addRemoteOptions(command).action(async (flags: RemoteFlags) => {
    await runRemote('status', flags, false, (client, _app, onReply) => client.inspect('ping', {}, { timeout: flags.timeout, destination: flags.destination ?? null, onReply }));
  });
}
