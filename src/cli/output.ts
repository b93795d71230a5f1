// How the CLI prints values and errors: results as JSON, failures as one line on stderr.
import { TaskError } from '../errors.js';

export function printResult(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** One line: `error: <reason>` (a remote task error shows its Python type and message). */
export function errorLine(error: unknown): string {
  if (error instanceof TaskError) return `error: task failed: ${error.message}`;
  return `error: ${error instanceof Error ? error.message : String(error)}`;
}
