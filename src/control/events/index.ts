export { EventDispatcher, type EventDispatcherOptions } from './event-dispatcher.js';
export { EventReceiver, type EventReceiverOptions } from './event-receiver.js';
export { adjustTimestamp, buildEvent, type CeleryEvent, groupFrom, loadAverage, type SoftwareInfo, softwareInfo, utcoffset } from './event.js';
export { type HeartbeatOptions, WorkerHeartbeat } from './worker-heartbeat.js';
