import type { PlanItem, RunEvent } from '../agent/events.js';
import { oneLine } from '../text.js';

type StageEvent = Extract<RunEvent, { type: 'stage' }>;

const PLAN_MARK: Record<PlanItem['status'], string> = { pending: '⬜', running: '▶️', done: '✅', failed: '❌' };
const STAGE_ICON: Record<StageEvent['stage'], string> = {
  plan: '📋',
  task: '▶️',
  synthesis: '📝',
  attempt: '🔁',
  evaluation: '🔎',
  reflection: '💭',
};

/** The plan as a checklist, one task per line. */
export function planChecklist(plan: readonly PlanItem[]): string[] {
  return plan.map((t) => `${PLAN_MARK[t.status]} ${oneLine(t.title, 90)}${t.dependsOn.length > 0 ? ` *(after ${t.dependsOn.join(', ')})*` : ''}`);
}

/** A stage as posted with the step summaries: the plan in full, other stages on one line. */
export function stageText(event: StageEvent): string {
  const icon = event.stage === 'evaluation' && event.title === 'Goal met' ? '✅' : STAGE_ICON[event.stage];
  const detail = event.detail === null ? '' : ` — *${oneLine(event.detail, 300)}*`;
  const heading = `${icon} **${oneLine(event.title, 150)}**${detail}`;
  if (event.stage !== 'plan' || event.plan === null) return heading;
  return [heading, ...event.plan.map((t, i) => `${i + 1}. ${oneLine(t.title, 150)}${t.dependsOn.length > 0 ? ` *(after ${t.dependsOn.join(', ')})*` : ''} \`${t.id}\``)].join('\n');
}

/** The stage as the status message shows it, under the headline. */
export function stageStatus(event: StageEvent): string {
  return `${STAGE_ICON[event.stage]} ${oneLine(event.title, 150)}`;
}
