// `result_expires` as every result backend reads it.
import { ConfigError } from '../errors.js';

/** celery/app/defaults.py `result_expires`: one day. */
export const DEFAULT_RESULT_EXPIRES = 86400;

/** base.py `prepare_expires(type=int)`: seconds truncated to an int; 0/None = kept forever. */
export function resultExpiresSeconds(resultExpires: number | null | undefined): number {
  if (resultExpires === undefined) return DEFAULT_RESULT_EXPIRES;
  if (resultExpires === null) return 0;
  if (!Number.isFinite(resultExpires) || resultExpires < 0) {
    throw new ConfigError(`result_expires must be a number of seconds ≥ 0 or null, got ${resultExpires}`);
  }
  return Math.trunc(resultExpires);
}
