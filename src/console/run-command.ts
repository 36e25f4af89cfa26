import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { AgentMode, RunResult } from '../agent/events.js';
import type { App } from '../app.js';
import { terminalApprover } from './approver.js';
import { LocalFileError, readLocalFiles } from './local-files.js';
import { consoleRenderer } from './render.js';

export interface RunCommandOptions {
  goal: string;
  mode: AgentMode;
  maxSteps: number | undefined;
  json: boolean;
  workspaceDir: string | undefined;
  /** Approve every risky tool call without asking. */
  yes: boolean;
  /** Local files given with --file (at most 3), read as the Discord intake reads attachments. */
  files?: readonly string[];
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
    // Absolute paths: where the attached files are on this machine.
    attachments: (result.attachments ?? []).map((file) => ({ name: file.name, path: path.join(result.workspaceDir, file.path), bytes: file.bytes })),
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
    let files;
    try {
      files = await readLocalFiles(options.files ?? [], controller.signal);
    } catch (error) {
      if (!(error instanceof LocalFileError)) throw error;
      process.stderr.write(`cairn run: ${error.message}\n`);
      return 2;
    }
    const result = await app.agent.run({
      ...(files.length === 0 ? {} : { files }),
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
