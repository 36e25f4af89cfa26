import type { RiskLevel } from '../tools/types.js';

/** A tool call waiting for a person's go-ahead. */
export interface ApprovalRequest {
  runId: string;
  step: number;
  callId: string;
  tool: string;
  /** The call's arguments exactly as the tool will read them (parsed, then printed as JSON). Show all of it. */
  arguments: string;
  risk: RiskLevel;
  /**
   * Why this call needs approval when its risk alone would not: the untrusted-content guard's
   * explanation (src/agent/exposure.ts). Surfaces should show it above the arguments.
   */
  reason?: string;
  /** How long the person has to answer; no answer in time means deny. */
  timeoutMs: number;
}

export type ApprovalOutcome = 'approved' | 'denied' | 'timed_out' | 'unavailable';

export interface ApprovalDecision {
  outcome: ApprovalOutcome;
  /** Who decided (a name or mention), or null when no one did (timeout, no one to ask). */
  by: string | null;
}

/**
 * Asks a person (Discord buttons, a terminal prompt) whether a call may run. It must settle by
 * `request.timeoutMs` (with `timed_out`) and when `signal` aborts.
 */
export type Approver = (request: ApprovalRequest, signal: AbortSignal) => Promise<ApprovalDecision>;

/** Which calls need approval: tools at or above `minRisk` ('none': no tool does). */
export interface ApprovalPolicy {
  minRisk: RiskLevel | 'none';
  timeoutMs: number;
}

const RANK: Record<RiskLevel, number> = { low: 0, medium: 1, high: 2 };

export function needsApproval(risk: RiskLevel, policy: ApprovalPolicy): boolean {
  if (policy.minRisk === 'none') return false;
  // A risk level this code does not know counts as the highest: fail closed.
  const rank = Object.hasOwn(RANK, risk) ? RANK[risk] : RANK.high;
  return rank >= RANK[policy.minRisk];
}

/** What the model is told when a call was not allowed to run. */
export function refusalNote(tool: string, decision: ApprovalDecision): string {
  const why: Record<Exclude<ApprovalOutcome, 'approved'>, string> = {
    denied: `the user${decision.by === null ? '' : ` (${decision.by})`} denied it`,
    timed_out: 'no one approved it in time',
    unavailable: 'it needs a person\'s approval and there is no one to ask in this run',
  };
  const reason = decision.outcome === 'approved' ? 'it was approved' : why[decision.outcome];
  return `Not run: "${tool}" needs approval and ${reason}. Do not retry this call; continue without it, or explain in your answer what you could not do.`;
}

/** Used when a run has no approver: nothing to ask, so nothing risky runs. */
export const noApprover: Approver = () => Promise.resolve({ outcome: 'unavailable', by: null });
