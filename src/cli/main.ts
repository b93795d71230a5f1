#!/usr/bin/env node
// The ts-celery command line: parses flags and calls the library (nothing else lives here).
import { Command } from 'commander';
import { VERSION } from '../version.js';
import { errorLine } from './output.js';

const program = new Command('ts-celery')
  .description("Python Celery's wire protocol for Node.js: workers, producers and results beside Python Celery")
  .version(VERSION)
  .showHelpAfterError(false);

type Register = (program: Command) => void;
// Each subcommand's module (and what it imports: beat, control, events…) loads only when that
// subcommand runs; help, a typo or no subcommand registers them all.
const COMMANDS: Record<string, () => Promise<Register>> = {
  worker: async () => (await import('./commands/worker.js')).registerWorkerCommand,
  call: async () => (await import('./commands/call.js')).registerCallCommand,
  result: async () => (await import('./commands/result.js')).registerResultCommand,
  purge: async () => (await import('./commands/purge.js')).registerPurgeCommand,
  demo: async () => (await import('./commands/demo.js')).registerDemoCommand,
  beat: async () => (await import('./commands/beat.js')).registerBeatCommand,
  inspect: async () => (await import('./commands/inspect.js')).registerInspectCommand,
  control: async () => (await import('./commands/control.js')).registerControlCommand,
  status: async () => (await import('./commands/status.js')).registerStatusCommand,
  events: async () => (await import('./commands/events.js')).registerEventsCommand,
};
const wanted = process.argv[2];
const registers = await Promise.all(wanted && Object.hasOwn(COMMANDS, wanted) ? [COMMANDS[wanted]!()] : Object.values(COMMANDS).map((load) => load()));
for (const register of registers) register(program);

// A reader that stops early (`ts-celery inspect stats | head`) ends the output, it is no crash:
// exit quietly, as Unix tools do on SIGPIPE, instead of an unhandled EPIPE stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`${errorLine(error)}\n`);
  process.exit(1);
});
