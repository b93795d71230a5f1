// Flag parsers shared by the subcommands: each rejects a bad value with a one-line reason.
import { InvalidArgumentError } from 'commander';
import { type LogLevel, parseLogLevel } from '../log.js';

export function positiveInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a positive integer.`);
    return n;
  };
}

export function nonNegativeInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${what} must be a non-negative integer.`);
    return n;
  };
}

export function seconds(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${what} must be a number of seconds.`);
    return n;
  };
}

export function json(what: string, shape: 'array' | 'object') {
  return (value: string): unknown => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw new InvalidArgumentError(`${what} must be JSON: ${(error as Error).message}`);
    }
    const ok = shape === 'array' ? Array.isArray(parsed) : parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed);
    if (!ok) throw new InvalidArgumentError(`${what} must be a JSON ${shape}.`);
    return parsed;
  };
}

export function logLevel(value: string): LogLevel {
  try {
    return parseLogLevel(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

export function queueList(value: string): string[] {
  const queues = value.split(',').map((q) => q.trim()).filter(Boolean);
  if (queues.length === 0) throw new InvalidArgumentError('expected a comma-separated list of queue names.');
  return queues;
}

/** `-b` / `--result-backend` work as in Celery's CLI: through the environment the app reads. */
export function applyConnectionFlags(flags: { broker?: string; resultBackend?: string }): void {
  if (flags.broker) process.env.CELERY_BROKER_URL = flags.broker;
  if (flags.resultBackend) process.env.CELERY_RESULT_BACKEND = flags.resultBackend;
}
