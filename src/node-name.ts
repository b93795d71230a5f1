// Worker node names (`-n`): `name@host` with Celery's substitutions %h (hostname), %n (short
// host name), %d (domain), and the file paths formatted from one — celery/utils/nodenames.py.
import { hostname } from 'node:os';

export function expandNodeName(template: string | undefined, host: string = hostname()): string {
  const [shortName = host, ...domainParts] = host.split('.');
  const domain = domainParts.join('.');
  const name = template ?? 'celery@%h';
  const expanded = name.replace(/%([hnd%])/g, (_, c: string) => ({ h: host, n: shortName, d: domain, '%': '%' })[c]!);
  return expanded.includes('@') ? expanded : `${expanded}@${host}`;
}

/**
 * A file path formatted for one worker (celery/utils/nodenames.py `node_format`, as Celery formats
 * `--logfile`, `--pidfile` and `--statedb`, so `celery multi`-style `/var/log/celery/%n%I.log`
 * works): %p = the whole node name, %n = its name part, %h = its host part, %d = the host's
 * domain, %i = the process index (`--processes` child N, else 0), %I = `-N` (else empty), %% = %.
 */
export function formatForNode(template: string, nodeName: string, processIndex?: string): string {
  const at = nodeName.indexOf('@');
  const [name, host] = at === -1 ? [nodeName, hostname()] : [nodeName.slice(0, at), nodeName.slice(at + 1)];
  const domain = host.split('.').slice(1).join('.');
  const keys: Record<string, string> = { p: nodeName, n: name, h: host, d: domain, i: processIndex ?? '0', I: processIndex ? `-${processIndex}` : '', '%': '%' };
  return template.replace(/%([pnhdiI%])/g, (_, c: string) => keys[c]!);
}
