// API client: same-origin fetch with the session cookie, the CSRF header on
// every non-GET call, and errors carrying the server's message and request id.

export interface FieldError {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId: string;
  readonly fields: FieldError[];
  readonly body: unknown;
  constructor(status: number, code: string, message: string, requestId: string, fields: FieldError[] = [], body: unknown = undefined) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.fields = fields;
    this.body = body;
  }
}

export const API = '/api/v1';

type Listener = () => void;

/** Client holds the CSRF token and tells the app when the session is gone. */
export class Client {
  private csrf = '';
  private unauthorized = new Set<Listener>();

  setCsrf(token: string) {
    this.csrf = token;
  }

  csrfToken(): string {
    if (this.csrf) return this.csrf;
    // After a reload the token lives only in the readable cp_csrf cookie.
    const m = typeof document !== 'undefined' ? document.cookie.match(/(?:^|;\s*)cp_csrf=([^;]+)/) : null;
    return m ? decodeURIComponent(m[1]) : '';
  }

  onUnauthorized(l: Listener): () => void {
    this.unauthorized.add(l);
    return () => this.unauthorized.delete(l);
  }

  async raw(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; rawBody?: BodyInit; signal?: AbortSignal; noAuthRedirect?: boolean } = {}): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
    let body: BodyInit | undefined = opts.rawBody;
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    if (method !== 'GET' && method !== 'HEAD') {
      const t = this.csrfToken();
      if (t) headers['X-CSRF-Token'] = t;
    }
    const url = path.startsWith('/') && !path.startsWith(API) && !path.startsWith('/openapi') ? API + path : path;
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body, credentials: 'same-origin', signal: opts.signal });
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      throw new ApiError(0, 'network', 'The server could not be reached: ' + (e as Error).message, '');
    }
    if (!res.ok) {
      const err = await toError(res);
      if (res.status === 401 && !opts.noAuthRedirect) {
        this.unauthorized.forEach((l) => l());
      }
      throw err;
    }
    return res;
  }

  async json<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    const res = await this.raw(method, path, { body, headers });
    return parse<T>(res);
  }

  get<T>(path: string): Promise<T> {
    return this.json<T>('GET', path);
  }
  post<T>(path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    return this.json<T>('POST', path, body, headers);
  }
  put<T>(path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    return this.json<T>('PUT', path, body, headers);
  }
  patch<T>(path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    return this.json<T>('PATCH', path, body, headers);
  }
  del<T>(path: string): Promise<T> {
    return this.json<T>('DELETE', path);
  }
}

export async function parse<T>(res: Response): Promise<T> {
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (!text) return undefined as T;
  return JSON.parse(text) as T;
}

export async function toError(res: Response): Promise<ApiError> {
  const rid = res.headers.get('X-Request-ID') ?? '';
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return new ApiError(res.status, 'http_' + res.status, res.statusText || 'HTTP ' + res.status, rid);
  }
  const e = (body as { error?: { code?: string; message?: string; fields?: FieldError[] } | string }).error;
  if (e && typeof e === 'object') {
    return new ApiError(res.status, e.code ?? 'error', e.message ?? 'HTTP ' + res.status, rid, e.fields ?? [], body);
  }
  const msg = typeof e === 'string' ? e : 'HTTP ' + res.status;
  const reqId = (body as { requestId?: string }).requestId ?? rid;
  return new ApiError(res.status, 'error', msg, reqId, [], body);
}

/** describe renders any error for a message box. */
export function describe(e: unknown): { message: string; requestId?: string } {
  if (e instanceof ApiError) return { message: e.message, requestId: e.requestId || undefined };
  if (e instanceof Error) return { message: e.message };
  return { message: String(e) };
}

export const client = new Client();
