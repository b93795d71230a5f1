// Broker/backend URLs are printed with the password masked, as Celery's `maybe_sanitize_url`.

export function maskUrl(url: string): string {
  // Sentinel URLs list several servers joined by ';', each with its own credentials.
  return url
    .split(';')
    .map((part) => part.replace(/^(\s*[a-z0-9+.-]+:\/\/)([^:@/]*):([^@/]*)@/i, (_, scheme: string, user: string) => `${scheme}${user}:**@`))
    .join(';');
}
