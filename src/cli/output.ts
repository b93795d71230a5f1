// How the CLI prints values and errors: results as JSON, failures as one line on stderr.
import { TaskError } from '../errors.js';

export function printResult(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** One line: `error: <reason>` (a remote task error shows its Python type and message). */
export function errorLine(error: unknown): string {
  const text = error instanceof TaskError ? `task failed: ${error.message}` : error instanceof Error ? error.message : String(error);
  // Loader errors (tsx, Node's resolver) span lines; keep their substance on one, minus require stacks.
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !/^(Require stack:|- \/)/.test(l));
  return `error: ${lines.join('; ')}`;
}
