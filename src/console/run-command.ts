import { createInterface } from 'node:readline/promises';
import type { AgentMode, RunResult } from '../agent/events.js';
import type { App } from '../app.js';
import { terminalApprover } from './approver.js';
import { consoleRenderer } from './render.js';

export interface RunCommandOptions {
  goal: string;
  mode: AgentMode;
  maxSteps: number | undefined;
  json: boolean;
  workspaceDir: string | undefined;
  /** Approve every risky tool call without asking. */
  yes: boolean;
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

/** One question on the terminal; Ctrl-C at the prompt denies and cancels the run as usual. */
async function askOnTerminal(question: string, signal: AbortSignal): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  rl.on('SIGINT', () => {
    rl.close();
    process.kill(process.pid, 'SIGINT');
  });
  try {
    return await rl.question(question, { signal });
  } finally {
    rl.close();
  }
}

export async function runRunCommand(app: App, options: RunCommandOptions): Promise<number> {
  const controller = new AbortController();
  const release = cancelOnInterrupt(controller);
  try {
    const result = await app.agent.run({
      goal: options.goal,
      mode: options.mode,
      signal: controller.signal,
      approver: terminalApprover({ yes: options.yes, ask: process.stdin.isTTY ? askOnTerminal : null, notes: process.stderr }),
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
