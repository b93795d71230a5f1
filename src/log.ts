// Logging for the worker, beat and CLI. The default format is Celery's own worker format
// (`[2026-01-01 12:00:00,123: INFO/MainProcess] …`) so mixed Python/TypeScript fleets read alike.

export type LogLevel = 'debug' | 'info' | 'warning' | 'error' | 'critical';
export type LogFormat = 'celery' | 'json';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  isEnabled(level: LogLevel): boolean;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warning: 30, error: 40, critical: 50 };
export const LOG_LEVELS = Object.keys(RANK) as LogLevel[];

/** Parse `-l` values the way Celery accepts them (`INFO`, `info`, `warn`, `WARNING`…). */
export function parseLogLevel(value: string): LogLevel {
  const v = value.toLowerCase();
  const level = v === 'warn' ? 'warning' : v === 'fatal' ? 'critical' : v;
  if (!(level in RANK)) throw new Error(`invalid log level '${value}' (expected one of ${LOG_LEVELS.join(', ')})`);
  return level as LogLevel;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; defaults to stderr as Celery's worker logs do. */
  write?: (line: string) => void;
  processName?: string;
  now?: () => Date;
  /** Applied to every finished line: blanks out secrets (see censor.ts `redactor`). */
  redact?: (line: string) => string;
  /** Fields added to every JSON line when it returns some (the active trace's `trace_id` / `span_id`). */
  context?: () => Record<string, unknown> | undefined;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Python logging's default asctime: local time `YYYY-MM-DD HH:MM:SS,mmm`. */
export function formatAsctime(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())},${pad(d.getMilliseconds(), 3)}`;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = RANK[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const processName = options.processName ?? 'MainProcess';
  const now = options.now ?? (() => new Date());
  const redact = options.redact ?? ((line: string) => line);
  const emit = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (RANK[level] < threshold) return;
    const time = now();
    if (options.format === 'json') {
      write(redact(JSON.stringify({ time: time.toISOString(), level: level.toUpperCase(), process: processName, message, ...options.context?.(), ...fields })));
    } else {
      write(redact(`[${formatAsctime(time)}: ${level.toUpperCase()}/${processName}] ${message}`));
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warning', m, f),
    error: (m, f) => emit('error', m, f),
    isEnabled: (level) => RANK[level] >= threshold,
  };
}

/**
 * `logger` with `redact` applied to every message and string field before it is passed on (the
 * worker wraps whatever logger it is given, so a configured password never reaches a log).
 */
export function redactingLogger(logger: Logger, redact: (text: string) => string): Logger {
  const fieldsOf = (fields?: Record<string, unknown>) =>
    fields && Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'string' ? redact(v) : v]));
  return {
    debug: (m, f) => logger.debug(redact(m), fieldsOf(f)),
    info: (m, f) => logger.info(redact(m), fieldsOf(f)),
    warn: (m, f) => logger.warn(redact(m), fieldsOf(f)),
    error: (m, f) => logger.error(redact(m), fieldsOf(f)),
    isEnabled: (level) => logger.isEnabled(level),
  };
}

/** A logger that drops everything (library default: the library never prints on its own). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  isEnabled: () => false,
};
