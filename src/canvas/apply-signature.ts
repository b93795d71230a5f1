// Sending a signature (a serialized task call, celery-wire.md §2.3): a plain task becomes one
// message; `celery.group` and `celery.chain` composites are unrolled as Celery's canvas does.
import type { Celery, SendTaskOptions } from '../app.js';
import { CeleryError } from '../errors.js';
import { newId } from '../protocol/ids.js';
import type { ResultTuple } from '../protocol/result-meta.js';
import type { Signature } from '../protocol/task-message.js';

/** Signature options that map onto send options one to one (same Celery names). */
const PASSED_OPTIONS = [
  'task_id', 'queue', 'exchange', 'routing_key', 'priority', 'countdown', 'eta', 'expires', 'headers', 'shadow',
  'ignore_result', 'compression', 'link', 'link_error', 'time_limit', 'soft_time_limit', 'group_id', 'group_index',
  'root_id', 'parent_id', 'chain', 'chord',
] as const;

export interface ApplyOverrides {
  /** Prepended to the signature's args unless it is immutable (the parent's return value). */
  prepend?: unknown[];
  /** Options that win over the signature's own (parent linkage, group membership). */
  options?: SendTaskOptions;
}

function sendOptions(sig: Signature): SendTaskOptions {
  const picked: Record<string, unknown> = {};
  const options = sig.options ?? {};
  for (const key of PASSED_OPTIONS) if (options[key] !== undefined && options[key] !== null) picked[key] = options[key];
  return picked as SendTaskOptions;
}

/** Publish a signature; returns the result tuple of what was sent. */
export async function applySignature(app: Celery, sig: Signature, overrides: ApplyOverrides = {}): Promise<ResultTuple> {
  const prepend = sig.immutable ? [] : (overrides.prepend ?? []);
  switch (sig.subtask_type ?? null) {
    case null: {
      const options = { ...sendOptions(sig), ...overrides.options };
      const result = await app.sendTask(sig.task, [...prepend, ...(sig.args ?? [])], sig.kwargs ?? {}, options);
      return [[result.id, null], null];
    }
    case 'group': {
      const members = (sig.kwargs?.tasks ?? []) as Signature[];
      const groupId = (sig.options?.task_id as string | undefined) ?? newId();
      const results: ResultTuple[] = [];
      for (const [index, member] of members.entries()) {
        results.push(
          await applySignature(app, member, {
            prepend,
            options: { ...overrides.options, group_id: groupId, group_index: index },
          }),
        );
      }
      return [[groupId, null], results];
    }
    case 'chain': {
      const steps = (sig.kwargs?.tasks ?? []) as Signature[];
      const [first, ...rest] = steps;
      if (!first) return [[newId(), null], null];
      // The producer sends only the first step; the rest ride in embed.chain, next step last (§10.5).
      return applySignature(app, first, { prepend, options: { ...overrides.options, chain: rest.reverse() } });
    }
    default:
      throw new CeleryError(`cannot apply a '${sig.subtask_type}' signature (${sig.task}) from TypeScript yet`);
  }
}
