// The table of remote-control commands a node answers, and the context they act on
// (celery/worker/control.py `Panel`: name → handler, with its type, aliases and arguments).
import { pythonRepr } from '../protocol/repr.js';
import type { LamportClock } from './clock.js';
import type { ControlledWorker } from './controlled-worker.js';

/** What `enable_events`, `disable_events` and `heartbeat` act on (the worker's EventDispatcher). */
export interface EventControl {
  /** Groups sent; empty = every group (Celery's `dispatcher.groups`). */
  readonly groups: Set<string>;
  send(type: string, fields?: Record<string, unknown>): void;
}

export interface CommandContext {
  readonly worker: ControlledWorker;
  readonly hostname: string;
  /** The node's Lamport clock (shared with its event dispatcher). */
  readonly clock: LamportClock;
  /** Null when the worker runs without an event dispatcher. */
  readonly events: EventControl | null;
  /** `sw_ident`/`sw_ver`/`sw_sys` for the `heartbeat` command's event and `report`. */
  readonly software: Record<string, string>;
}

export type CommandHandler = (ctx: CommandContext, args: Record<string, unknown>) => unknown;

export interface CommandDefinition {
  name: string;
  type: 'inspect' | 'control';
  handler: CommandHandler;
  /** Arguments Python requires (a missing one is a TypeError reply, as a Python call would raise). */
  required?: readonly string[];
  /** Older name answered too (`dump_conf`, `dump_active`, …). */
  alias?: string;
  /** Listed by `--list` (hello is hidden, as in Celery). */
  visible?: boolean;
  /** `<signature>` for help output and positional CLI arguments: [name, type] pairs. */
  args?: ReadonlyArray<readonly [string, 'str' | 'int' | 'float' | 'bool']>;
  /** Name of the argument collecting the remaining CLI words. */
  variadic?: string;
  signature?: string;
  help?: string;
}

/** Returned by a handler when no reply must be sent (`shutdown` raises SystemExit in Celery). */
export const NO_REPLY: unique symbol = Symbol('no reply');

/** An exception as Python would raise it; the reply carries its repr: `{"error": "KeyError('x')"}`. */
export class PythonException extends Error {
  constructor(
    readonly pyType: string,
    message: string,
  ) {
    super(message);
    this.name = pyType;
  }

  get pythonRepr(): string {
    return `${this.pyType}(${pythonRepr(this.message)})`;
  }
}

/** `repr(exc)` of whatever a handler threw. */
export function errorRepr(error: unknown): string {
  if (error instanceof PythonException) return error.pythonRepr;
  if (error instanceof Error) return `${error.name || 'Error'}(${pythonRepr(error.message)})`;
  return `Exception(${pythonRepr(String(error))})`;
}

export class CommandRegistry {
  private readonly commands = new Map<string, CommandDefinition>();

  constructor(definitions: Iterable<CommandDefinition> = []) {
    for (const d of definitions) this.register(d);
  }

  register(definition: CommandDefinition): void {
    this.commands.set(definition.name, definition);
    if (definition.alias) this.commands.set(definition.alias, definition);
  }

  get(name: string): CommandDefinition | undefined {
    return this.commands.get(name);
  }

  /** Visible commands of one type, sorted by name (`celery inspect --list`). */
  list(type: 'inspect' | 'control'): CommandDefinition[] {
    const seen = new Set<CommandDefinition>();
    return [...this.commands.entries()]
      .filter(([name, d]) => d.name === name && d.type === type && d.visible !== false && !seen.has(d) && seen.add(d))
      .map(([, d]) => d)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * kombu `Node.handle`: `handlers[method](state, **arguments)`. Unknown → KeyError(method); a
   * missing required argument → the TypeError a Python call raises.
   */
  async run(ctx: CommandContext, method: string, args: Record<string, unknown>): Promise<unknown> {
    const definition = this.commands.get(method);
    if (!definition) throw new PythonException('KeyError', method);
    const missing = (definition.required ?? []).filter((name) => !(name in args));
    if (missing.length > 0) {
      const names = missing.map((m) => `'${m}'`);
      const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
      throw new PythonException('TypeError', `${definition.name}() missing ${missing.length} required positional argument${missing.length === 1 ? '' : 's'}: ${list}`);
    }
    return definition.handler(ctx, args);
  }
}
