// The console's only way to the platform: the gateway's JSON API under /api/v1.

const TOKEN = 'cg.token';
let token = localStorage.getItem(TOKEN);
let onUnauthorized = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
    this.errors = (body && body.errors) || {};
  }
}

export function setToken(value) {
  token = value || null;
  if (token) localStorage.setItem(TOKEN, token); else localStorage.removeItem(TOKEN);
}
export function hasToken() { return !!token; }
export function whenUnauthorized(fn) { onUnauthorized = fn; }

function url(path, query) {
  const u = new URL('/api/v1' + path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => u.searchParams.append(k, x)); else u.searchParams.set(k, v);
  }
  return u.pathname + u.search;
}

export async function api(method, path, body, query) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(url(path, query), {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, { message: String(err) });
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (err) { data = { message: text }; }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401 && path !== '/auth/token') onUnauthorized(error);
    throw error;
  }
  return data;
}

export const get = (path, query) => api('GET', path, undefined, query);

/** Fetch a CSV export with the session's token and hand it to the browser as a download. */
export async function download(path, query, fallbackName) {
  const response = await fetch(url(path, { ...query, format: 'csv' }), {
    headers: { Accept: 'text/csv', ...(token ? { Authorization: 'Bearer ' + token } : {}) },
  });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  const match = /filename\*=UTF-8''([^;]+)/.exec(response.headers.get('Content-Disposition') || '');
  const link = document.createElement('a');
  link.href = URL.createObjectURL(await response.blob());
  link.download = match ? decodeURIComponent(match[1]) : fallbackName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}
export const post = (path, body) => api('POST', path, body === undefined ? {} : body);
export const put = (path, body) => api('PUT', path, body);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);
