// Secrets never leave the process: settings censored for `inspect conf` / `report` / `stats`
// (celery/app/utils.py `filter_hidden_settings`, stricter: every URL anywhere, lists too), and
// a redactor that blanks the configured passwords out of any text or reply as a last line.
import { HIDDEN_SETTINGS, maskUrl } from './url-mask.js';

/** Celery's `filter_hidden_settings` mask (`'*' * 8`). */
export const SETTINGS_MASK = '********';

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof RegExp);

/**
 * A copy of `settings` fit to show: a value under a key matching HIDDEN_SETTINGS becomes the
 * mask (a mapping under such a key is censored key by key, as Celery recurses into mappings),
 * and every string holding `scheme://` has its password masked — whatever the key, also inside
 * lists (Celery masks URLs only under `*broker_url*` and `*backend*` keys).
 */
export function censorSettings(settings: Record<string, unknown>, mask = SETTINGS_MASK): Record<string, unknown> {
  return Object.fromEntries(Object.entries(settings).map(([key, value]) => [key, censorValue(key, value, mask)]));
}

function censorValue(key: string | null, value: unknown, mask: string): unknown {
  if (isPlainObject(value)) return censorSettings(value, mask);
  if (key !== null && HIDDEN_SETTINGS.test(key) && value !== null && value !== undefined) return mask;
  if (Array.isArray(value)) return value.map((v) => censorValue(null, v, mask));
  if (typeof value === 'string' && value.includes('://')) return maskUrl(value, mask);
  return value;
}

/**
 * Keys whose string value the redactor blanks out of every text. Narrower than HIDDEN_SETTINGS:
 * its `KEY` would take `global_keyprefix`, `redbeat_key_prefix` or `task_default_routing_key`
 * values (queue names, prefixes) out of every log line.
 */
const SECRET_KEYS = /PASS|SECRET|TOKEN|API_?KEY|SIGNATURE|CREDENTIAL|PRIVATE_?KEY/i;

/**
 * The secret strings in a configuration: URL passwords (as written and percent-decoded) and the
 * string values under SECRET_KEYS. Values shorter than 3 characters are left out (they would
 * blank out ordinary words); use real passwords.
 */
export function secretsIn(settings: Record<string, unknown>): string[] {
  const found = new Set<string>();
  const visit = (key: string | null, value: unknown): void => {
    if (isPlainObject(value)) {
      for (const [k, v] of Object.entries(value)) visit(k, v);
    } else if (Array.isArray(value)) {
      for (const v of value) visit(key, v);
    } else if (typeof value === 'string') {
      if (key !== null && SECRET_KEYS.test(key)) found.add(value);
      for (const password of urlPasswords(value)) found.add(password);
    }
  };
  visit(null, settings);
  for (const s of [...found]) {
    try {
      found.add(decodeURIComponent(s));
    } catch {
      /* not percent-encoded */
    }
  }
  return [...found].filter((s) => s.length >= 3);
}

/** The password of each URL in a (`;`-joined) URL text, exactly as `maskUrl` would hide it. */
function urlPasswords(text: string): string[] {
  if (!text.includes('://')) return [];
  const out: string[] = [];
  for (const part of text.split(/;(?=\s*[a-z][a-z0-9+.-]*:\/\/)/i)) {
    const rest = /^\s*[a-z][a-z0-9+.-]*:\/\/([\s\S]*)$/i.exec(part)?.[1];
    if (!rest) continue;
    const userinfo = rest.slice(0, Math.max(0, rest.lastIndexOf('@')));
    const colon = userinfo.indexOf(':');
    if (colon >= 0) out.push(userinfo.slice(colon + 1));
    for (const m of rest.matchAll(/[?&;]([^=&;#]*)=([^&;#]*)/g)) if (HIDDEN_SETTINGS.test(m[1]!) && m[2]) out.push(m[2]);
  }
  return out;
}

/** Replaces every occurrence of the secrets (and their JSON-escaped forms) in a text with `mask`. */
export type Redactor = (text: string) => string;

export function redactor(secrets: readonly string[], mask = '**'): Redactor {
  const forms = new Set<string>();
  for (const s of secrets) {
    forms.add(s);
    forms.add(JSON.stringify(s).slice(1, -1));
  }
  const list = [...forms].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  if (list.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const s of list) if (out.includes(s)) out = out.split(s).join(mask);
    return out;
  };
}

/** `value` with `redact` applied to every string in it (keys included), for replies and events. */
export function redactDeep(value: unknown, redact: Redactor): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactDeep(v, redact)]));
  return value;
}
