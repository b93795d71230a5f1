// `broker_transport_options` validation shared by the transports: an unknown name is an error
// with the closest known one, a bad value names the option and what was given.
import type { z } from 'zod';
import { didYouMean } from '../did-you-mean.js';
import { ConfigError } from '../errors.js';

export function validateTransportOptions<S extends z.ZodObject>(schema: S, raw: Record<string, unknown>, broker: string): z.output<S> {
  const known = Object.keys(schema.shape);
  for (const name of Object.keys(raw)) {
    if (!known.includes(name)) throw new ConfigError(`broker_transport_options: unknown option '${name}' for ${broker}${didYouMean(name, known)}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? '');
    throw new ConfigError(`broker_transport_options.${name} ${issue.message}, got ${JSON.stringify(raw[name])}`);
  }
  return parsed.data;
}
