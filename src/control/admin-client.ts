// Client of the admin API (used by the CLI): parsed JSON back, or a FleetbanError with the server's code.
import { request as httpRequest } from 'node:http';
import { ErrorCode, FleetbanError } from '../core/errors.js';
import type { Ban } from '../core/types.js';
import type {
  ClusterDetail,
  HealthReport,
  JailStatusReport,
  ListedBan,
  ReloadReport,
  SenderReport,
  StatusReport,
} from './plane.js';
import { errnoOf } from './errno.js';

export type AdminEndpoint =
  | { readonly kind: 'unix'; readonly socket: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly token: string };

/** The body of POST /v1/bans. */
export interface BanRequestBody {
  readonly target: string;
  readonly jail?: string;
  /** Seconds or a duration text such as "1h". */
  readonly for?: number | string;
  readonly permanent?: true;
  readonly reason?: string;
}

export interface AdminResponse {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

/** Where an endpoint is, for messages: the socket path or `http://host:port`. */
export function describeEndpoint(endpoint: AdminEndpoint): string {
  if (endpoint.kind === 'unix') return endpoint.socket;
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `http://${host}:${endpoint.port}`;
}

export class AdminClient {
  readonly #endpoint: AdminEndpoint;
  readonly #timeoutMs: number;

  /** `timeoutMs` bounds a whole call; a reload of a large config is the slowest one. */
  constructor(endpoint: AdminEndpoint, options: { readonly timeoutMs?: number } = {}) {
    this.#endpoint = endpoint;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
  }

  get endpoint(): AdminEndpoint {
    return this.#endpoint;
  }

  status(): Promise<StatusReport> {
    return this.request('GET', '/v1/status');
  }

  cluster(): Promise<ClusterDetail> {
    return this.request('GET', '/v1/cluster');
  }

  jail(name: string): Promise<JailStatusReport> {
    return this.request('GET', `/v1/jails/${encodeURIComponent(name)}`);
  }

  async bans(jail?: string): Promise<ListedBan[]> {
    const query = jail === undefined ? '' : `?jail=${encodeURIComponent(jail)}`;
    return (await this.request<{ bans: ListedBan[] }>('GET', `/v1/bans${query}`)).bans;
  }

  async ban(body: BanRequestBody): Promise<Ban> {
    return (await this.request<{ ban: Ban }>('POST', '/v1/bans', body)).ban;
  }

  async unban(target: string): Promise<Ban[]> {
    const path = `/v1/bans/${encodeURIComponent(target)}`;
    return (await this.request<{ unbanned: Ban[] }>('DELETE', path)).unbanned;
  }

  async unbanAll(): Promise<Ban[]> {
    return (await this.request<{ unbanned: Ban[] }>('DELETE', '/v1/bans?all=true')).unbanned;
  }

  reload(): Promise<ReloadReport> {
    return this.request('POST', '/v1/reload');
  }

  async senders(): Promise<SenderReport[]> {
    return (await this.request<{ senders: SenderReport[] }>('GET', '/v1/senders')).senders;
  }

  async metrics(): Promise<string> {
    const res = await this.call('GET', '/metrics');
    if (res.status !== 200) throw errorFrom(res);
    return res.text;
  }

  /** 503 is an answer here, not a failure: the report says what is unhealthy. */
  async health(): Promise<HealthReport> {
    const res = await this.call('GET', '/healthz');
    if (res.status !== 200 && res.status !== 503) throw errorFrom(res);
    return parseJson(res) as HealthReport;
  }

  /** A JSON call: resolves with the parsed body of a 2xx answer, else throws the server's error. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.call(method, path, body);
    if (res.status < 200 || res.status > 299) throw errorFrom(res);
    return parseJson(res) as T;
  }

  /** One raw round trip. Throws SERVER_UNREACHABLE when no server answers. */
  call(method: string, path: string, body?: unknown): Promise<AdminResponse> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    const ep = this.#endpoint;
    if (ep.kind === 'tcp') headers.authorization = `Bearer ${ep.token}`;
    const target =
      ep.kind === 'unix' ? { socketPath: ep.socket } : { host: ep.host, port: ep.port };
    return new Promise((resolve, reject) => {
      const req = httpRequest({ ...target, method, path, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'] ?? '',
            text: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', (e) => {
          reject(this.#unreachable(e));
        });
      });
      req.setTimeout(this.#timeoutMs, () => {
        req.destroy(
          new FleetbanError(
            ErrorCode.SERVER_UNREACHABLE,
            `no answer from the fleetban server at ${describeEndpoint(ep)} within ${this.#timeoutMs / 1000}s`,
          ),
        );
      });
      req.on('error', (e) => {
        reject(e instanceof FleetbanError ? e : this.#unreachable(e));
      });
      req.end(payload);
    });
  }

  #unreachable(e: Error): FleetbanError {
    const where = describeEndpoint(this.#endpoint);
    const errno = errnoOf(e);
    const message =
      errno === 'EACCES'
        ? `permission denied on ${where} (run as root or as a member of the socket's group)`
        : `cannot reach the fleetban server at ${where} (is it running? see --config): ${errno ?? e.message}`;
    return new FleetbanError(ErrorCode.SERVER_UNREACHABLE, message, { cause: e });
  }
}

function parseJson(res: AdminResponse): unknown {
  try {
    return JSON.parse(res.text);
  } catch (e) {
    throw new FleetbanError(
      ErrorCode.INTERNAL,
      `the server answered ${res.status} with a body that is not JSON`,
      { cause: e },
    );
  }
}

/** The server's `{ error: { code, message } }`, or a description of whatever came back instead. */
function errorFrom(res: AdminResponse): FleetbanError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) {
    const err = parsed.error;
    if (typeof err === 'object' && err !== null && 'code' in err && 'message' in err) {
      const { code, message } = err;
      if (typeof code === 'string' && KNOWN_CODES.has(code) && typeof message === 'string') {
        return new FleetbanError(code as ErrorCode, message);
      }
    }
  }
  return new FleetbanError(ErrorCode.INTERNAL, `the server answered HTTP ${res.status}`);
}
