// Who is signed in, and the district's catalogue (categories, departments), fetched once per sign-in.
import { get } from './api.js';

export const state = { me: null };
const cache = new Map();

export function setMe(me) { state.me = me; cache.clear(); }

export function hasRole(...roles) { return !!state.me && roles.some((r) => state.me.roles.includes(r)); }

export const GRID_ROLES = ['building_leader', 'grid_worker', 'grid_leader'];
export const is = {
  resident: () => hasRole('resident'),
  grid: () => hasRole(...GRID_ROLES),
  party: () => hasRole('party_member'),
  adopter: () => hasRole('party_member', 'volunteer', 'organisation_member'),
  community: () => hasRole('community_staff'),
  department: () => hasRole('department_staff'),
  admin: () => hasRole('district_admin'),
  platform: () => hasRole('platform_admin'),
  staff: () => hasRole(...GRID_ROLES, 'party_member', 'community_staff', 'department_staff'),
  member: () => !!(state.me && state.me.district),
};

function once(key, load) {
  if (!cache.has(key)) cache.set(key, load().catch((err) => { cache.delete(key); throw err; }));
  return cache.get(key);
}

export function forget(key) { cache.delete(key); }

export function categories() {
  return once('categories', () => get(`/districts/${encodeURIComponent(state.me.district)}/categories`));
}

export function departments() {
  return once('departments', () => get(`/districts/${encodeURIComponent(state.me.district)}/departments`));
}

export async function categoryOf(code) {
  try { return (await categories()).find((c) => c.category === code) || null; } catch (err) { return null; }
}

export async function departmentNames() {
  try { return Object.fromEntries((await departments()).map((d) => [d.id, d.name])); } catch (err) { return {}; }
}

export async function categoryNames() {
  try { return Object.fromEntries((await categories()).map((c) => [c.category, c.name])); } catch (err) { return {}; }
}
