/**
 * The CLI's client of the operator API. Errors become CliErrors carrying the API's `{error, details}`
 * rendered for humans (field paths of invalid job specs one per line).
 */
import { DEFAULT_API_URL } from '../config.js';
import { CliError } from './command.js';

export interface ApiClientOptions {
  /** Base URL (flag --api, env SLUICE_API, default http://127.0.0.1:5070). */
  url: string;
  token?: string;
  timeoutMs?: number;
}

export function apiOptions(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): ApiClientOptions {
  let url = (flags['api'] as string | undefined) ?? env['SLUICE_API'] ?? DEFAULT_API_URL;
  if (!/^https?:\/\//.test(url)) url = `http://${url}`;
  return { url: url.replace(/\/+$/, ''), token: (flags['api-token'] as string | undefined) ?? env['SLUICE_API_TOKEN'] };
}

export class ApiClient {
  constructor(private readonly opts: ApiClientOptions) {}

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.opts.token) headers['authorization'] = `Bearer ${this.opts.token}`;
    let res: Response;
    try {
      res = await fetch(this.opts.url + path, {
        method,
        headers,
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code;
      const msg =
        `cannot reach the Sluice API at ${this.opts.url}${cause ? ` (${cause})` : ''}: is \`sluice start\` running? ` +
        `Point the CLI at it with --api URL or SLUICE_API.`;
      throw new CliError(msg, 1, { error: msg });
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text.trim()) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (res.status >= 400) {
      const data = parsed && typeof parsed === 'object' ? { status: res.status, ...(parsed as object) } : { status: res.status, error: String(parsed ?? '') };
      throw new CliError(renderApiError(res.status, parsed), res.status === 404 ? 4 : res.status < 500 ? 3 : 1, data);
    }
    return { status: res.status, body: parsed as T };
  }

  get<T = unknown>(path: string) {
    return this.request<T>('GET', path);
  }
  post<T = unknown>(path: string, body: unknown) {
    return this.request<T>('POST', path, body);
  }
  put<T = unknown>(path: string, body: unknown) {
    return this.request<T>('PUT', path, body);
  }
  delete<T = unknown>(path: string) {
    return this.request<T>('DELETE', path);
  }
}

export function renderApiError(status: number, body: unknown): string {
  if (body && typeof body === 'object' && 'error' in body) {
    const b = body as { error: string; details?: unknown };
    let msg = `error (HTTP ${status}): ${b.error}`;
    if (Array.isArray(b.details)) {
      for (const d of b.details as Array<{ path?: string; message?: string }>) {
        msg += `\n  ${d.path ? `${d.path}: ` : ''}${d.message ?? JSON.stringify(d)}`;
      }
    } else if (b.details !== undefined) msg += `\n  ${typeof b.details === 'string' ? b.details : JSON.stringify(b.details)}`;
    return msg;
  }
  return `error (HTTP ${status}): ${typeof body === 'string' ? body : JSON.stringify(body)}`;
}
