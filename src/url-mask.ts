// Broker/backend URLs: their scheme, which picks the transport or backend, and the form they are
// printed in, with the password masked as kombu's `maybe_sanitize_url` does — but for any
// scheme, and also when the password holds an unencoded '/', '@', '?' or '#' (kombu's
// `url_to_parts` then raises or misreads the host).

/** `redis` for `REDIS://host`, lower-cased; undefined without `scheme://` (or `scheme:` when `slashes` is false). */
export function urlScheme(url: string, { slashes = true }: { slashes?: boolean } = {}): string | undefined {
  return (slashes ? /^([a-z][a-z0-9+.-]*):\/\//i : /^([a-z][a-z0-9+.-]*):/i).exec(url)?.[1]?.toLowerCase();
}

/**
 * celery/app/utils.py HIDDEN_SETTINGS: a setting (or nested key, or URL query parameter) whose
 * name matches holds a secret and is shown only as a mask.
 */
export const HIDDEN_SETTINGS = /API|TOKEN|KEY|SECRET|PASS|PROFANITIES_LIST|SIGNATURE|DATABASE|BEAT_DBURI/i;

/** Where a new URL starts inside a `;`-joined list (Sentinel: `sentinel://h1;sentinel://h2`). */
const NEXT_URL = /;(?=\s*[a-z][a-z0-9+.-]*:\/\/)/i;

/**
 * The URL with its password (and any secret-looking query parameter) replaced by `mask`, as
 * kombu's `sanitize_url` prints it (`redis://:**@host:6379/0`; Celery's `inspect conf` passes
 * `mask='********'`). The user info ends at the LAST '@', so a password containing '@' or '/'
 * is masked whole (over-masking a query that holds '@' is the safe side). A text without
 * `scheme://` is returned as it is.
 */
export function maskUrl(url: string, mask = '**'): string {
  return url
    .split(NEXT_URL)
    .map((part) => maskOne(part, mask))
    .join(';');
}

function maskOne(part: string, mask: string): string {
  const m = /^(\s*[a-z][a-z0-9+.-]*:\/\/)([\s\S]*)$/i.exec(part);
  if (!m) return part;
  const [, scheme, rest] = m as unknown as [string, string, string];
  let authority = '';
  let tail = rest;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    // `user@host` has no password (kombu shows the user); `user:secret@host` masks the secret.
    authority = colon >= 0 ? `${userinfo.slice(0, colon)}:${mask}@` : `${userinfo}@`;
    tail = rest.slice(at + 1);
  }
  const masked = tail.replace(/([?&;])([^=&;#]*)=([^&;#]*)/g, (whole, sep: string, name: string) =>
    HIDDEN_SETTINGS.test(name) ? `${sep}${name}=${mask}` : whole,
  );
  return `${scheme}${authority}${masked}`;
}
