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
export const post = (path, body) => api('POST', path, body === undefined ? {} : body);
export const put = (path, body) => api('PUT', path, body);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);

/** Every page of a list endpoint answering {items, total}, up to `limit` items. */
export async function getAll(path, query, limit = 2000) {
  const items = [];
  let total = 0;
  for (let page = 1; items.length < limit; page += 1) {
    const body = await get(path, { ...query, page, page_size: 100 });
    items.push(...(body.items || []));
    total = body.total ?? items.length;
    if (!body.items || body.items.length < 100 || items.length >= total) break;
  }
  return { items, total };
}

// -- what the API offers: the OpenAPI document decides which pages can work yet ------------

let specPromise = null;

export function spec() {
  if (!specPromise) {
    specPromise = fetch('/api/v1/openapi.json', { headers: { Accept: 'application/json' } })
      .then((r) => (r.ok ? r.json() : { paths: {} }))
      .catch(() => ({ paths: {} }));
  }
  return specPromise;
}

/** Whether the API has `method` on `path` (OpenAPI form: /api/v1/districts/{code}/...). */
export async function has(path, method = 'get') {
  const doc = await spec();
  const item = doc.paths && doc.paths[path];
  return !!(item && item[method.toLowerCase()]);
}

/** The first of several candidate paths the API has, or null. */
export async function firstOf(candidates, method = 'get') {
  for (const path of candidates) {
    if (await has(path, method)) return path;
  }
  return null;
}

/** Fill {name} placeholders of an OpenAPI path and drop the /api/v1 prefix. */
export function fill(path, params) {
  return path.replace(/^\/api\/v1/, '').replace(/\{(\w+)\}/g, (m, k) => encodeURIComponent(params[k] ?? m));
}
