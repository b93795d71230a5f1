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

/**
 * A path formatted for one worker (celery/utils/nodenames.py `node_format`, as `--statedb` and
 * `--logfile` take it): %p = the whole node name, %n = its name part, %h = its host part, %d = the
 * host's domain, %% = %.
 */
export function formatForNode(template: string, nodeName: string): string {
  const at = nodeName.indexOf('@');
  const [name, host] = at === -1 ? [nodeName, hostname()] : [nodeName.slice(0, at), nodeName.slice(at + 1)];
  const domain = host.split('.').slice(1).join('.');
  return template.replace(/%([pnhd%])/g, (_, c: string) => ({ p: nodeName, n: name, h: host, d: domain, '%': '%' })[c]!);
}
