// `ts-celery inspect <command> [args…]`: ask workers (Python or TypeScript) and print their replies
// as Python's `celery inspect` does (celery/bin/control.py `inspect`).
import { type Command, InvalidArgumentError } from 'commander';
import { builtinCommands } from '../../control/mailbox.js';
import { addRemoteOptions, compileArguments, printCommandList, type RemoteFlags, runRemote } from './control.js';

export function registerInspectCommand(program: Command): void {
  const command = program
    .command('inspect')
    .description('Inspect the workers by sending them the COMMAND inspect command (celery inspect)')
    .argument('[command]', 'inspect command, e.g. ping, stats, active, registered (see --list)')
    .argument('[args...]', 'command arguments')
    .option('--list', 'list available inspect commands and exit');
  addRemoteOptions(command).action(async (name: string | undefined, words: string[], flags: RemoteFlags) => {
    if (flags.list || !name) return printCommandList('inspect');
    const def = builtinCommands().get(name);
    if (!def || def.type !== 'inspect') {
      throw new InvalidArgumentError(`Command ${name} not recognized. Available inspect commands: ${builtinCommands().list('inspect').map((d) => d.name).join(', ')}`);
    }
    // Celery's Inspect methods send these defaults (celery/app/control.py).
    const defaults: Record<string, Record<string, unknown>> = { active: { safe: null }, registered: { taskinfoitems: [] }, conf: { with_defaults: false } };
    const args = { ...defaults[name], ...compileArguments(name, words) };
    await runRemote('inspect', flags, true, (client, _app, onReply) => client.inspect(name, args, { timeout: flags.timeout, destination: flags.destination ?? null, onReply }));
  });
}
