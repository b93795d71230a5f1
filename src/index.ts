// The public API of ts-celery (everything else is internal).
export { Celery, EMBEDDED_BROKER_URL, type AppDependencies, type SendTaskOptions } from './app.js';
export { createBackend } from './backend/index.js';
export type { ResultBackend, WaitOptions } from './backend/result-backend.js';
export { loadConfig, type CeleryConfig, type CeleryConfigInput, type RouteOptions, type RouterFunction } from './config.js';
export * from './errors.js';
export { createLogger, silentLogger, type Logger, type LogFormat, type LogLevel } from './log.js';
export type { Message, MessageProperties, DeliveryInfo } from './protocol/message.js';
export type { TaskMeta, ResultTuple } from './protocol/result-meta.js';
export type { Signature, TaskRequest } from './protocol/task-message.js';
export type { TaskContext, TaskInput, TaskOptions, TaskSpec } from './registry/task-definition.js';
export type { TaskHandleMethods } from './registry/task-handle.js';
export { signature } from './registry/task-handle.js';
export { loadApp } from './registry/module-loader.js';
export { AsyncResult, type GetOptions } from './result.js';
export { Router, type Route } from './routing.js';
export { createTransport } from './transport/index.js';
export type { Transport, Delivery, Consumer, QueueSpec, PublishTarget } from './transport/transport.js';
export { Worker, type WorkerOptions } from './worker/worker.js';
