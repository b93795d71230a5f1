// The HTTP port operators point Prometheus and Kubernetes at: `/metrics` (Prometheus text
// exposition, when the owner has metrics), `/healthz` (liveness: answered by the same event loop
// that runs tasks, so an answer is the proof) and `/readyz` (readiness, by the owner's rule).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A probe's verdict: 200 with `detail` when ok, else 503. */
export interface ProbeStatus {
  ok: boolean;
  detail: string;
}

export interface ProbeServerOptions {
  /** 0 picks a free port (see `ProbeServer.port`). */
  port: number;
  /** Default: every interface, as Prometheus exporters listen (a pod's probes come from its IP). */
  host?: string;
  /** Readiness (`/readyz`). */
  ready: () => ProbeStatus;
  /** The exposition (`/metrics`); without it `/metrics` is 404. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
}

export class ProbeServer {
  private constructor(
    private readonly server: Server,
    /** The port listened on (the one picked when 0 was asked for). */
    readonly port: number,
  ) {}

  static listen(options: ProbeServerOptions): Promise<ProbeServer> {
    const server = createServer((req, res) => void handle(options, req, res));
    // A scrape or probe must never keep the process alive on its own.
    server.unref();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve(new ProbeServer(server, (server.address() as AddressInfo).port));
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

async function handle(options: ProbeServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
    if (path === '/healthz' || path === '/livez') return send(res, 200, 'ok\n');
    if (path === '/readyz') {
      const status = options.ready();
      return send(res, status.ok ? 200 : 503, `${status.detail}\n`);
    }
    if (path === '/metrics' && options.metrics) {
      const { contentType, body } = await options.metrics();
      return send(res, 200, body, contentType);
    }
    send(res, 404, 'not found (try /metrics, /healthz, /readyz)\n');
  } catch (error) {
    send(res, 500, `${error instanceof Error ? error.message : String(error)}\n`);
  }
}

function send(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}
