/** The REST API (/api/v2), the control JSON-RPC and who we are logged in as (GET /config). */

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

async function failure(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { error?: unknown };
    if (body.error) message = typeof body.error === 'string' ? body.error : ((body.error as { message?: string }).message ?? JSON.stringify(body.error));
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(message, res.status);
}

/** GET /api/v2/<path>; the envelope as given. */
export async function get<T = Record<string, unknown>>(path: string, query: Record<string, string | number | (string | number)[] | undefined> = {}): Promise<T> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) q.append(k, String(x));
  }
  const qs = q.toString();
  // X-Requested-With: a script is asking (a server may then leave out its Basic auth challenge).
  const res = await fetch(`/api/v2/${path.replace(/^\//, '')}${qs ? `?${qs}` : ''}`, { headers: { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest' } });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

/** A collection: its items (under the envelope's plural key). */
export async function list<T>(path: string, key: string, query: Parameters<typeof get>[1] = {}): Promise<T[]> {
  const body = await get<Record<string, unknown>>(path, query);
  return (body[key] as T[]) ?? [];
}

/** One item, or undefined on 404. */
export async function one<T>(path: string, key: string, query: Parameters<typeof get>[1] = {}): Promise<T | undefined> {
  try {
    return (await list<T>(path, key, query))[0];
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}

let rpcId = 0;

/** A control call as Buildbot's UI makes it: JSON-RPC 2.0 POSTed to the resource's path. */
export async function rpc<T = unknown>(path: string, method: string, params: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`/api/v2/${path.replace(/^\//, '')}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...(me.csrfToken ? { 'X-CSRF-Token': me.csrfToken } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', method, params, id: ++rpcId }),
  });
  const text = await res.text();
  let body: { result?: T; error?: { message?: string; data?: unknown } | string } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // not JSON
  }
  if (!res.ok || body.error) {
    const e = body.error;
    const message = typeof e === 'string' ? e : (e?.message ?? `${res.status} ${res.statusText}`);
    throw new ApiError(message, res.status);
  }
  return body.result as T;
}

export interface UiConfig {
  title: string;
  auth: { loginConfigured: boolean };
}

/** Who we are (GET /auth/me): `via` is 'session' (logged in), 'local' (this machine, no users configured), 'anonymous', … */
export interface Me {
  username?: string;
  via: string;
  roles: string[];
  csrfToken?: string;
}

let config: UiConfig = { title: 'buildmaster', auth: { loginConfigured: true } };
let me: Me = { via: 'anonymous', roles: [] };

export function uiConfig(): UiConfig {
  return config;
}

export function whoAmI(): Me {
  return me;
}

async function getJson<T>(url: string): Promise<T | undefined> {
  try {
    const res = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    return res.ok ? ((await res.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}

/** The master's title and whether it has users (GET /config), and who we are (GET /auth/me). */
export async function loadConfig(): Promise<UiConfig> {
  const [c, m] = await Promise.all([getJson<UiConfig>('/config'), getJson<Me>('/auth/me')]);
  if (c) config = c;
  me = m ?? { via: 'anonymous', roles: [] };
  return config;
}

/** Control buttons are shown to whoever has a role (the server still decides each action). */
export function canControl(): boolean {
  return me.roles.length > 0;
}

export async function login(username: string, password: string): Promise<void> {
  const res = await fetch('/auth/login', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!res.ok) throw await failure(res);
  await loadConfig();
}

export async function logout(): Promise<void> {
  await fetch('/auth/logout', { method: 'POST', credentials: 'same-origin' }).catch(() => undefined);
  await loadConfig();
}
