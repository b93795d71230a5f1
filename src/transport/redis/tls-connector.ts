// ioredis listens for a socket's 'error' only once per connection (Redis.connect:
// `stream.once("error", …)`). A TLS socket whose handshake fails can emit a second error — the
// server's alert arriving after the first failure — and with no listener left that second one
// would be an uncaught exception that ends the worker. Every stream this connector makes keeps a
// listener of its own; ioredis still sees the first error and reconnects as usual.
import { StandaloneConnector } from 'ioredis/built/connectors/index.js';

type ErrorEmitter = Parameters<StandaloneConnector['connect']>[0];

export class TlsConnector extends StandaloneConnector {
  override async connect(emitter: ErrorEmitter): ReturnType<StandaloneConnector['connect']> {
    const stream = await super.connect(emitter);
    stream.on('error', () => {});
    return stream;
  }
}
