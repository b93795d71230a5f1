#!/usr/bin/env node
// The ts-celery command line: parses flags and calls the library (nothing else lives here).
import { Command } from 'commander';
import { VERSION } from '../version.js';
import { registerBeatCommand } from './commands/beat.js';
import { registerCallCommand } from './commands/call.js';
import { registerControlCommand } from './commands/control.js';
import { registerEventsCommand } from './commands/events.js';
import { registerInspectCommand } from './commands/inspect.js';
import { registerStatusCommand } from './commands/status.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerPurgeCommand } from './commands/purge.js';
import { registerResultCommand } from './commands/result.js';
import { registerWorkerCommand } from './commands/worker.js';
import { errorLine } from './output.js';

const program = new Command('ts-celery')
  .description("Python Celery's wire protocol for Node.js: workers, producers and results beside Python Celery")
  .version(VERSION)
  .showHelpAfterError(false);

registerWorkerCommand(program);
registerCallCommand(program);
registerResultCommand(program);
registerPurgeCommand(program);
registerDemoCommand(program);
registerBeatCommand(program);
registerInspectCommand(program);
registerControlCommand(program);
registerStatusCommand(program);
registerEventsCommand(program);

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
