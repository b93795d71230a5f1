// Worker node names (`-n`): `name@host` with Celery's substitutions %h (hostname), %n (short
// host name), %d (domain) — celery/utils/nodenames.py.
import { hostname } from 'node:os';

export function expandNodeName(template: string | undefined, host: string = hostname()): string {
  const [shortName = host, ...domainParts] = host.split('.');
  const domain = domainParts.join('.');
  const name = template ?? 'celery@%h';
  const expanded = name.replace(/%([hnd%])/g, (_, c: string) => ({ h: host, n: shortName, d: domain, '%': '%' })[c]!);
  return expanded.includes('@') ? expanded : `${expanded}@${host}`;
}
