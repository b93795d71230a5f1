// Broker/backend URLs: their scheme, which picks the transport or backend, and the form they are
// printed in, with the password masked as Celery's `maybe_sanitize_url` does.

/** `redis` for `REDIS://host`, lower-cased; undefined without `scheme://` (or `scheme:` when `slashes` is false). */
export function urlScheme(url: string, { slashes = true }: { slashes?: boolean } = {}): string | undefined {
  return (slashes ? /^([a-z][a-z0-9+.-]*):\/\//i : /^([a-z][a-z0-9+.-]*):/i).exec(url)?.[1]?.toLowerCase();
}

export function maskUrl(url: string): string {
  // Sentinel URLs list several servers joined by ';', each with its own credentials.
  return url
    .split(';')
    .map((part) => part.replace(/^(\s*[a-z0-9+.-]+:\/\/)([^:@/]*):([^@/]*)@/i, (_, scheme: string, user: string) => `${scheme}${user}:**@`))
    .join(';');
}
