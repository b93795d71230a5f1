// Broker/backend URLs are printed with the password masked, as Celery's `maybe_sanitize_url`.

export function maskUrl(url: string): string {
  return url.replace(/^([a-z0-9+.-]+:\/\/)([^:@/]*):([^@/]*)@/i, (_, scheme: string, user: string) => `${scheme}${user}:**@`);
}
