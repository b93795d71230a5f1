// The ts-celery version, shown in the banner and sent as `sw_ver` in worker events.
export const VERSION = '0.1.0';
