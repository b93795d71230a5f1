// Which nodes act on a pidbox request: kombu/pidbox.py `Node.handle_message` — `destination`
// first, else `pattern` + `matcher` (kombu/matcher.py: `glob` = fnmatch, `pcre` = re.match),
// else everyone.

export interface Addressing {
  destination?: unknown;
  pattern?: unknown;
  matcher?: unknown;
}

/** True when the node named `hostname` should run the request. */
export function isAddressedTo(hostname: string, request: Addressing): boolean {
  const { destination, pattern, matcher } = request;
  if (Array.isArray(destination) && destination.length > 0) return destination.includes(hostname);
  if (typeof destination === 'string' && destination) return destination === hostname; // kombu: `hostname in destination`
  if (typeof pattern === 'string' && pattern && typeof matcher === 'string' && matcher) {
    return matchNodeName(hostname, pattern, matcher);
  }
  return true;
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
