// The shapes of a Celery task message (celery/app/amqp.py `AMQP.as_task_v2`) as producers write
// them and workers read them: signatures, the body embed, protocol-2 headers, NewTask and
// TaskRequest.

/** A serialized task call (`celery.canvas.Signature` as a dict). */
export interface Signature {
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: Record<string, unknown>;
  subtask_type: string | null;
  immutable: boolean;
  [key: string]: unknown;
}

/** The third body element: what runs after this task. */
export interface TaskEmbed {
  callbacks: Signature[] | null;
  errbacks: Signature[] | null;
  /** Remaining chain steps, next step LAST. */
  chain: Signature[] | null;
  chord: Signature | null;
}

/** Protocol-2 headers (`as_task_v2`'s `headers` dict); custom headers sit beside them. */
export interface TaskHeaders {
  lang: string;
  task: string;
  id: string;
  shadow: string | null;
  eta: string | null;
  expires: string | null;
  group: string | null;
  group_index: number | null;
  retries: number;
  timelimit: [number | null, number | null];
  root_id: string | null;
  parent_id: string | null;
  argsrepr: string;
  kwargsrepr: string;
  origin: string | null;
  ignore_result: boolean | null;
  replaced_task_nesting: number;
  stamped_headers: string[] | null;
  stamps: Record<string, unknown>;
  /** Set when the body is compressed (kombu adds it beside the task headers). */
  compression?: string;
  [key: string]: unknown;
}

/** What a producer asks to send. */
export interface NewTask {
  id: string;
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  eta?: Date | null;
  expires?: Date | null;
  shadow?: string | null;
  group?: string | null;
  groupIndex?: number | null;
  retries?: number;
  timeLimit?: number | null;
  softTimeLimit?: number | null;
  rootId?: string | null;
  parentId?: string | null;
  argsrepr?: string;
  kwargsrepr?: string;
  ignoreResult?: boolean;
  replacedTaskNesting?: number;
  stampedHeaders?: string[] | null;
  stamps?: Record<string, unknown>;
  callbacks?: Signature[] | null;
  errbacks?: Signature[] | null;
  chain?: Signature[] | null;
  chord?: Signature | null;
  /** Custom headers, merged at the top level (Celery's `apply_async(headers=…)`). */
  headers?: Record<string, unknown>;
  priority?: number;
  replyTo: string;
  origin: string;
  compression?: string;
  /** For the AMQP `expiration` property (ms until `expires`). */
  now?: Date;
}

/** A decoded task message, whichever protocol carried it. */
export interface TaskRequest {
  protocol: 1 | 2;
  id: string;
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  embed: TaskEmbed;
  headers: TaskHeaders;
  eta: Date | null;
  expires: Date | null;
  retries: number;
  /** `[hard, soft]` seconds. */
  timeLimit: [number | null, number | null];
  rootId: string | null;
  parentId: string | null;
  group: string | null;
  groupIndex: number | null;
  shadow: string | null;
  ignoreResult: boolean;
  origin: string | null;
  argsrepr: string;
  kwargsrepr: string;
  replyTo: string | null;
  correlationId: string | null;
  priority: number | null;
}
