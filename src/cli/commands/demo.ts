// `ts-celery demo`: the embedded round trip (see src/demo.ts).
import type { Command } from 'commander';
import { runDemo } from '../../demo.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Run a worker, a producer and a result store in one process on the in-memory broker')
    .action(() => runDemo());
}
