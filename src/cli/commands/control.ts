// `ts-celery control <command> [args…]`: broadcast a control command and print the replies as
// Python's `celery control` does (celery/bin/control.py, celery/bin/base.py `pretty`). Also holds
// the remote-command plumbing `inspect` and `status` share.
import { type Command, InvalidArgumentError } from 'commander';
import type { Celery } from '../../app.js';
import { builtinCommands } from '../../control/mailbox.js';
import { ControlClient, type NodeReply } from '../../control/control-client.js';
import { pythonRepr } from '../../protocol/repr.js';
import { addConnectionOptions, appFromFlags, type ConnectionFlags } from '../app-from-flags.js';
import { seconds } from '../options.js';

export interface RemoteFlags extends ConnectionFlags {
  timeout: number;
  destination?: string[];
  json?: boolean;
  list?: boolean;
}

/** celery/platforms.py EX_UNAVAILABLE: "No nodes replied within time constraint". */
export const EX_UNAVAILABLE = 69;

const indent = (text: string, n: number) => text.split('\n').map((l) => ' '.repeat(n) + l).join('\n');

/** celery/bin/base.py `CLIContext.pretty`: [status, text]. */
export function pretty(value: unknown): ['OK' | 'ERROR', string] {
  if (Array.isArray(value)) return ['OK', value.length ? value.map((v) => `* ${typeof v === 'string' ? v : pythonRepr(v)}`).join('\n') : '- empty -'];
  if (value !== null && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if ('ok' in v) return ['OK', indent(pretty(v.ok)[1], 4)];
    if ('error' in v) return ['ERROR', indent(pretty(v.error)[1], 4)];
    return ['OK', JSON.stringify(sortKeys(v), null, 4)];
  }
  return ['OK', typeof value === 'string' ? value : pythonRepr(value)];
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
}

/** `_say_remote_command_reply`: `->  node: OK` and, with the body, the reply indented. */
export function formatReply(reply: NodeReply, showBody: boolean): string {
  const node = Object.keys(reply)[0] ?? '';
  const [status, text] = pretty(reply[node]);
  return `->  ${node}: ${status}${showBody && text ? `\n${indent(text, 4)}` : ''}\n`;
}

/** Positional CLI words → the command's keyword arguments (celery/bin/control.py `_compile_arguments`). */
export function compileArguments(command: string, words: string[]): Record<string, unknown> {
  const def = builtinCommands().get(command);
  const out: Record<string, unknown> = {};
  const rest = [...words];
  for (const [name, type] of def?.args ?? []) {
    if (rest.length === 0) break;
    const word = rest.shift()!;
    if (type === 'int' || type === 'float') {
      const n = Number(word);
      if (!Number.isFinite(n) || (type === 'int' && !Number.isInteger(n))) throw new InvalidArgumentError(`${name} must be a${type === 'int' ? 'n integer' : ' number'}, got '${word}'.`);
      out[name] = n;
    } else out[name] = type === 'bool' ? /^(1|true|yes|on|y|t)$/i.test(word) : word;
  }
  if (def?.variadic) out[def.variadic] = rest;
  else if (rest.length > 0) throw new InvalidArgumentError(`Command '${command}' takes arguments: ${def?.signature ?? '(none)'}`);
  return out;
}

export function addRemoteOptions(command: Command): Command {
  return addConnectionOptions(
    command
      .option('-t, --timeout <seconds>', 'timeout in seconds waiting for reply', seconds('--timeout'), 1.0)
      .option('-d, --destination <nodes>', 'comma separated list of destination node names', (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean))
      .option('-j, --json', 'use json as output format'),
  );
}

/** Print `--list` the way Celery does: one `name signature` line per command with its help. */
export function printCommandList(type: 'inspect' | 'control'): void {
  const rows = builtinCommands().list(type).map((d) => [d.signature ? `${d.name} ${d.signature}` : d.name, d.help ?? ''] as const);
  const width = Math.max(...rows.map(([l]) => l.length));
  process.stdout.write(`${type === 'inspect' ? 'Inspect' : 'Control'} Commands:\n${rows.map(([l, h]) => `  ${l.padEnd(width)}  ${h}`).join('\n')}\n`);
}

/** Runs `send` with a client on the app's broker; prints replies as they come; handles "none". */
export async function runRemote(command: string, flags: RemoteFlags, showBody: boolean, send: (client: ControlClient, app: Celery, onReply?: (r: NodeReply) => void) => Promise<Record<string, unknown>>): Promise<void> {
  const app = await appFromFlags(flags, command);
  const client = new ControlClient(app.transport, { namespace: app.conf.control_exchange, oid: app.oid });
  try {
    const onReply = flags.json ? undefined : (r: NodeReply) => void process.stdout.write(formatReply(r, showBody));
    const replies = await send(client, app, onReply);
    const count = Object.keys(replies).length;
    if (count === 0) {
      process.stderr.write('Error: No nodes replied within time constraint\n');
      process.exitCode = EX_UNAVAILABLE;
      return;
    }
    if (flags.json) process.stdout.write(`${JSON.stringify(replies)}\n`);
    else process.stdout.write(`\n${count} ${count === 1 ? 'node' : 'nodes'} online.\n`);
  } finally {
    await client.close();
    await app.close();
  }
}

export function registerControlCommand(program: Command): void {
  const command = program
    .command('control')
    .description('Send the COMMAND control command to the workers (celery control)')
    .argument('[command]', 'control command (see --list)')
    .argument('[args...]', 'command arguments')
    .option('--list', 'list available control commands and exit');
  addRemoteOptions(command).action(async (name: string | undefined, words: string[], flags: RemoteFlags) => {
    if (flags.list || !name) return printCommandList('control');
    const def = builtinCommands().get(name);
    if (!def || def.type !== 'control') {
      throw new InvalidArgumentError(`Command ${name} not recognized. Available control commands: ${builtinCommands().list('control').map((d) => d.name).join(', ')}`);
    }
    const args = compileArguments(name, words);
    await runRemote('control', flags, true, async (client, _app, onReply) => {
      const replies = await client.broadcast(name, args, { reply: true, timeout: flags.timeout, destination: flags.destination ?? null, onReply });
      return Object.assign({}, ...replies) as Record<string, unknown>;
    });
  });
}
