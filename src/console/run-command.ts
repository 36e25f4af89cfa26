import type { AgentMode, RunResult } from '../agent/events.js';
import type { App } from '../app.js';
import { consoleRenderer } from './render.js';

export interface RunCommandOptions {
  goal: string;
  mode: AgentMode;
  maxSteps: number | undefined;
  json: boolean;
  workspaceDir: string | undefined;
}

/** The `--json` contract: one object on stdout (see DESIGN.md), plus a few identifying fields. */
export function jsonSummary(result: RunResult): string {
  return JSON.stringify({
    status: result.status,
    answer: result.answer,
    steps: result.steps,
    usage: result.usage,
    costUsd: result.costUsd,
    runId: result.runId,
    maxSteps: result.maxSteps,
    toolCalls: result.toolCalls,
    reason: result.reason ?? null,
    workspaceDir: result.workspaceDir,
  });
}

/**
 * Ctrl-C once cancels the run (it stops cleanly and prints its summary); a second Ctrl-C quits
 * at once.
 */
function cancelOnInterrupt(controller: AbortController): () => void {
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\nCancelling the run… (Ctrl-C again to quit now)\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

export async function runRunCommand(app: App, options: RunCommandOptions): Promise<number> {
  const controller = new AbortController();
  const release = cancelOnInterrupt(controller);
  try {
    const result = await app.agent.run({
      goal: options.goal,
      mode: options.mode,
      signal: controller.signal,
      sinks: options.json ? [] : [consoleRenderer(process.stdout)],
      ...(options.maxSteps === undefined ? {} : { limits: { maxSteps: options.maxSteps } }),
      ...(options.workspaceDir === undefined ? {} : { workspaceDir: options.workspaceDir }),
    });
    if (options.json) process.stdout.write(`${jsonSummary(result)}\n`);
    return result.status === 'succeeded' ? 0 : 1;
  } finally {
    release();
  }
}
