import type { StepSummary } from './memory-port.js';
import type { RunEvent } from './events.js';

/** A sink that condenses a run's events into the step summaries kept with its episode. */
export class StepLog {
  readonly steps: StepSummary[] = [];
  /** The task (plan mode) or attempt (reflexion) the coming steps belong to. */
  private stage: string | undefined;

  readonly sink = (event: RunEvent): void => {
    if (event.type === 'stage' && (event.stage === 'task' || event.stage === 'attempt')) {
      this.stage = event.title.slice(0, 200);
    } else if (event.type === 'step') {
      const reasoning = event.reasoning === null ? null : event.reasoning.slice(0, 300);
      this.steps.push({ step: event.step, decision: event.decision, reasoning, tools: [], ...(this.stage === undefined ? {} : { stage: this.stage }) });
    } else if (event.type === 'tool_result') {
      this.steps.find((s) => s.step === event.step)?.tools.push({ name: event.tool, ok: event.ok });
    }
  };
}
