// A module that exports no Celery app: `ts-celery worker -A` must say so clearly.
export const notAnApp = { sendTask: 'not a function' };
export default 42;
