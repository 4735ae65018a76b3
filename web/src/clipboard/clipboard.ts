// Copy/paste between organisations (spec §9.1): the shapes of the server's
// personal dataflow store (server/clipboard.go, control/clipboard.go) and
// the pure decisions of the Copy and Paste dialogs.
import { atLeast, type CreateResult, type Membership, type Problem } from '../api/types';

/** Copy is one entry of the personal dataflow store. */
export interface Copy {
  id: string;
  userId: string;
  sourceOrgId: string;
  sourceOrgName: string;
  sourceFlowId: string;
  sourceFlowName: string;
  sourceVersion: number;
  description: string;
  document?: string;
  createdAt: string;
}

/** CopyResult is a copy just made, with what it left out. */
export interface CopyResult extends Copy {
  removed: string[];
}

/** PasteResult is the new dataflow and what validation found in its organisation. */
export interface PasteResult extends CreateResult {
  source: Copy;
  valid: boolean;
  problems: Problem[];
  warnings: Problem[];
}

/** pasteTargets are the organisations a paste may go to: those where the user is an editor or admin, the current one first. */
export function pasteTargets(orgs: Membership[], current: string): Membership[] {
  const xs = orgs.filter((m) => atLeast(m.role, 'editor'));
  return [...xs.filter((m) => m.orgId === current), ...xs.filter((m) => m.orgId !== current)];
}

/** copyLabel is how a copy reads in the Paste dialog's list. */
export function copyLabel(c: Copy): string {
  return `${c.sourceFlowName} v${c.sourceVersion} from ${c.sourceOrgName || c.sourceOrgId} — ${c.description}`;
}

/** checkDescription says what is wrong with a copy's description ('' when it is fine). */
export function checkDescription(d: string): string {
  if (!d.trim()) return 'A description is required: say what the copy is for (e.g. "Move to ANB organization").';
  if (d.length > 2000) return 'The description is longer than 2000 characters.';
  return '';
}

/** pasteBody is the request body of a paste: only the fields the user changed from the copy's. */
export function pasteBody(c: Copy, name: string): { name?: string } {
  const n = name.trim();
  return n && n !== c.sourceFlowName ? { name: n } : {};
}
