// Which nodes act on a pidbox request: kombu/pidbox.py `Node.handle_message` — `destination`
// first, else `pattern` + `matcher` (kombu/matcher.py: `glob` = fnmatch, `pcre` = re.match),
// else everyone. Patterns come from anyone who can publish to the broker:
// they are length-capped, evaluated under a time limit, and their outcome cached in a bounded map.
import { Script, createContext, type Context } from 'node:vm';
import { BoundedCache } from '../bounded-cache.js';

/** Longer patterns address nobody (a node name is at most a few hundred characters). */
export const MAX_PATTERN_LENGTH = 512;
/** A pattern whose match runs longer (catastrophic backtracking) addresses nobody. */
export const MATCH_TIMEOUT_MS = 50;
/** Distinct (matcher, pattern) outcomes remembered per node. */
export const PATTERN_CACHE_SIZE = 256;

export interface Addressing {
  destination?: unknown;
  pattern?: unknown;
  matcher?: unknown;
}

/**
 * True when the node named `hostname` should run the request. Pass a NodeMatcher to bound the
 * cost of hostile patterns (the mailbox does); without one the pattern is matched directly.
 */
export function isAddressedTo(hostname: string, request: Addressing, nodeMatcher?: NodeMatcher): boolean {
  const { destination, pattern, matcher } = request;
  if (Array.isArray(destination) && destination.length > 0) return destination.includes(hostname);
  if (typeof destination === 'string' && destination) return destination === hostname; // kombu: `hostname in destination`
  if (typeof pattern === 'string' && pattern && typeof matcher === 'string' && matcher) {
    return nodeMatcher ? nodeMatcher.matches(pattern, matcher) : matchNodeName(hostname, pattern, matcher);
  }
  return true;
}

/**
 * One node's pattern matching for untrusted requests: a pattern over MAX_PATTERN_LENGTH, or one
 * that does not compile, or whose match exceeds MATCH_TIMEOUT_MS (V8 interrupts the regex: the
 * match runs in a vm context with a timeout), addresses nobody; each outcome is cached (bounded),
 * so a repeated hostile pattern costs nothing more.
 */
export class NodeMatcher {
  private readonly outcomes = new BoundedCache<string, boolean>(PATTERN_CACHE_SIZE);
  private sandbox: Context | null = null;
  private readonly script = new Script('re.test(name)');

  constructor(readonly hostname: string) {}

  matches(pattern: string, matcher: string): boolean {
    if (pattern.length > MAX_PATTERN_LENGTH || (matcher !== 'glob' && matcher !== 'pcre')) return false;
    const key = `${matcher}\0${pattern}`;
    let outcome = this.outcomes.get(key);
    if (outcome === undefined) {
      outcome = this.evaluate(pattern, matcher);
      this.outcomes.set(key, outcome);
    }
    return outcome;
  }

  private evaluate(pattern: string, matcher: string): boolean {
    let re: RegExp;
    try {
      re = matcher === 'glob' ? fnmatchToRegExp(pattern) : new RegExp(`^(?:${pattern})`);
    } catch {
      return false;
    }
    const sandbox = (this.sandbox ??= createContext({}));
    sandbox.re = re;
    sandbox.name = this.hostname;
    try {
      return this.script.runInContext(sandbox, { timeout: MATCH_TIMEOUT_MS }) === true;
    } catch {
      return false; // ERR_SCRIPT_EXECUTION_TIMEOUT
    } finally {
      sandbox.re = null;
    }
  }
}

/**
 * kombu `match(data, pattern, matcher)`. An unknown matcher raises MatcherNotInstalled in kombu
 * before dispatch (no reply); here the node simply does not act.
 */
export function matchNodeName(hostname: string, pattern: string, matcher = 'glob'): boolean {
  if (matcher === 'glob') return fnmatchToRegExp(pattern).test(hostname);
  if (matcher === 'pcre') {
    try {
      // Python `re.match`: anchored at the start only.
      return new RegExp(`^(?:${pattern})`).test(hostname);
    } catch {
      return false;
    }
  }
  return false;
}

/** Python `fnmatch.translate` (POSIX: case-sensitive): `*`, `?`, `[seq]`, `[!seq]`, whole string. */
export function fnmatchToRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') out += '[\\s\\S]*';
    else if (c === '?') out += '[\\s\\S]';
    else if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '!') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j++;
      if (j >= pattern.length) out += '\\[';
      else {
        let body = pattern.slice(i + 1, j).replace(/\\/g, '\\\\');
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        else if (body.startsWith('^')) body = `\\${body}`;
        out += `[${body}]`;
        i = j;
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}
