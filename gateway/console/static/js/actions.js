// Which actions the signed-in user could take on a petition now. The services decide for real
// (403/409 come back as messages); this only keeps buttons that cannot work off the screen.
import { GRID_ROLES, hasRole, state } from './state.js';

const OPEN = ['submitted', 'in_progress', 'escalated', 'dispatched'];

function roleForLevel(p) {
  const me = state.me;
  if (p.level === 'party') return hasRole('party_member') && (!p.handler_id || p.handler_id === me.user_id);
  if (p.level === 'grid') return hasRole(...GRID_ROLES);
  if (p.level === 'community') return hasRole('community_staff');
  if (p.level === 'department') return hasRole('department_staff') && me.department === p.department_id;
  return false;
}

export function allowedActions(p) {
  const me = state.me;
  const at = roleForLevel(p);
  const s = p.status;
  const l = p.level;
  const out = [];
  if (at && ((s === 'submitted' && (l === 'party' || l === 'grid')) || (s === 'escalated' && l === 'community'))) out.push('claim');
  if (at && ((s === 'in_progress' && (l === 'party' || l === 'grid')) || (s === 'submitted' && l === 'grid'))) out.push('escalate');
  if (at && l === 'community' && (s === 'escalated' || s === 'in_progress')) out.push('dispatch');
  if (at && l === 'department' && s === 'dispatched') out.push('accept');
  if (at && s === 'in_progress' && (l !== 'party' || p.handler_id === me.user_id)) out.push('resolve');
  if (at && l === 'department' && (s === 'dispatched' || s === 'in_progress')) out.push('return');
  if (at && (l === 'grid' || l === 'community') && OPEN.includes(s) && hasRole(...GRID_ROLES, 'community_staff')) out.push('merge');
  const mine = hasRole('resident') && p.resident_id === me.user_id;
  if (mine && s === 'resolved') out.push('rate');
  if (mine && OPEN.includes(s)) out.push('withdraw');
  if (hasRole('community_staff') && p.follow_up && p.follow_up.status === 'open') out.push('follow_up');
  return out;
}

/** Actions a card can offer with one tap (no form to fill). */
export const QUICK = ['claim', 'accept'];
