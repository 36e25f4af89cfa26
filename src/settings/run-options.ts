/**
 * What a place's settings change in a run started there: the operator's instructions, the model,
 * the mode (when the caller names none), the step limit, the tools left out and the approval
 * threshold. Every surface that starts runs in a place (slash commands, mentions, conversations,
 * schedules) asks here, so a value set with /config applies to the next run everywhere.
 */
import type { RunRequest } from '../agent/agent.js';
import type { AgentMode } from '../agent/events.js';
import type { ModelCatalog } from '../llm/models.js';
import { valuesOf, type SettingsReader, type SettingsWhere } from './types.js';

export type SettingsRunOptions = Pick<RunRequest, 'instructions' | 'model' | 'disabledTools' | 'approvals' | 'mode'> & { limits: { maxSteps: number } };

/** The run request's fields for a run at `where`; `chosenMode` (the caller's) wins over the place's default mode. */
export function runOptionsFor(settings: SettingsReader, models: ModelCatalog, where: SettingsWhere, chosenMode?: AgentMode): SettingsRunOptions {
  const values = valuesOf(settings.resolve(where));
  // Values are checked against the allow-list on write and on load; should one slip through, the default model runs.
  const model = models.getOrDefault(values.model);
  return {
    ...(values.instructions === null ? {} : { instructions: values.instructions }),
    model,
    mode: chosenMode ?? values.mode,
    limits: { maxSteps: values.max_steps },
    disabledTools: values.disabled_tools,
    approvals: { minRisk: values.approval_risk },
  };
}
