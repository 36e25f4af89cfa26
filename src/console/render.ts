import path from 'node:path';
import { styleText } from 'node:util';
import type { PlanItem, RunEvent, RunResult, RunSink } from '../agent/events.js';
import { oneLine } from '../text.js';

type Style = Parameters<typeof styleText>[0];

export interface ConsoleOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ConsoleRendererOptions {
  /** Colour output; default: a terminal and NO_COLOR unset. */
  color?: boolean;
  /** Characters of each tool result shown. */
  resultChars?: number;
  /** 'full' (default) prints the whole execution summary; 'brief' one line, for chat. */
  summary?: 'full' | 'brief';
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function formatCost(costUsd: number | null): string {
  if (costUsd === null) return 'unknown (no price for this model)';
  return costUsd < 0.01 ? `$${costUsd.toFixed(4)}` : `$${costUsd.toFixed(2)}`;
}

/** The execution summary printed after every run. */
export function formatSummary(result: RunResult): string {
  const { usage, toolCalls } = result;
  const tokens = usage.promptTokens + usage.completionTokens;
  const rate = toolCalls.total === 0 ? 'no tool calls' : `${toolCalls.succeeded}/${toolCalls.total} succeeded (${Math.round((100 * toolCalls.succeeded) / toolCalls.total)}%)`;
  const elapsed = Date.parse(result.endedAt) - Date.parse(result.startedAt);
  return [
    `status:   ${result.status}${result.reason === undefined ? '' : ` — ${result.reason}`}`,
    `steps:    ${result.steps} of ${result.maxSteps}`,
    `tokens:   ${tokens.toLocaleString('en')} (${usage.promptTokens.toLocaleString('en')} prompt, ${usage.completionTokens.toLocaleString('en')} completion)`,
    `cost:     ${formatCost(result.costUsd)}`,
    `tools:    ${rate}`,
    `time:     ${formatDuration(elapsed)}`,
    `run id:   ${result.runId}   workspace: ${result.workspaceDir}`,
  ].join('\n');
}

/** Where the run's attached files are on this machine, one line each (none: no lines). */
export function attachmentLines(result: RunResult): string[] {
  return (result.attachments ?? []).map((file) => `📎 ${file.name} (${file.bytes.toLocaleString('en')} bytes): ${path.join(result.workspaceDir, file.path)}`);
}

/** One dim line after a chat answer. */
export function formatBriefSummary(result: RunResult): string {
  const tokens = result.usage.promptTokens + result.usage.completionTokens;
  const elapsed = Date.parse(result.endedAt) - Date.parse(result.startedAt);
  const status = result.status === 'succeeded' ? '' : `${result.status}: ${result.reason ?? ''} · `;
  return `${status}${result.steps} step${result.steps === 1 ? '' : 's'} · ${tokens.toLocaleString('en')} tokens · ${formatCost(result.costUsd)} · ${formatDuration(elapsed)}`;
}

const PLAN_MARK: Record<PlanItem['status'], string> = { pending: '○', running: '▸', done: '✓', failed: '✗' };

/** A plan or reflexion stage as lines: a heading, then the plan's tasks or the detail, indented. */
export function stageLines(event: Extract<RunEvent, { type: 'stage' }>): string[] {
  const heading = `── ${event.title}`;
  if (event.stage === 'plan' && event.plan !== null) {
    return [
      heading,
      ...(event.detail === null ? [] : [`  why: ${oneLine(event.detail, 300)}`]),
      ...event.plan.map((t) => `  ${PLAN_MARK[t.status]} ${t.id}: ${oneLine(t.title, 120)}${t.dependsOn.length > 0 ? ` (after ${t.dependsOn.join(', ')})` : ''}`),
    ];
  }
  return event.detail === null ? [heading] : [heading, `  ${oneLine(event.detail, 400)}`];
}

/** An approval in words: "approved by ada after 4.2 s", "not run: no one approved it in time". */
export function approvalText(event: Extract<RunEvent, { type: 'approval' }>): string {
  const who = event.by === null ? '' : ` by ${event.by}`;
  const wait = ` after ${formatDuration(event.waitedMs)}`;
  switch (event.outcome) {
    case 'approved':
      return `${event.tool} approved${who}${wait}`;
    case 'denied':
      return `${event.tool} not run: denied${who}${wait}`;
    case 'timed_out':
      return `${event.tool} not run: no one approved it in time (${formatDuration(event.waitedMs)})`;
    case 'unavailable':
      return `${event.tool} not run: it needs approval and there is no one to ask`;
  }
}

/** Renders run events as they happen: decision, reasoning, tool, outcome; then answer and summary. */
export function consoleRenderer(out: ConsoleOutput, options: ConsoleRendererOptions = {}): RunSink {
  const color = options.color ?? (out.isTTY === true && process.env.NO_COLOR === undefined);
  // By default Node also checks process.stdout (FORCE_COLOR, TERM=dumb…); an explicit `color` is obeyed as is.
  const validateStream = options.color === undefined;
  const paint = (style: Style, text: string) => (color ? styleText(style, text, { validateStream }) : text);
  const resultChars = options.resultChars ?? 300;
  const line = (text = '') => out.write(`${text}\n`);

  return (event: RunEvent) => {
    // A resumed run's replay: printed before the restart, except where it started.
    if (event.replayed === true && event.type !== 'started') return;
    switch (event.type) {
      case 'resumed':
        line(paint('yellow', `↻ resumed after a restart at step ${event.step}`));
        break;
      case 'started':
        line(paint('bold', `▶ ${event.goal}`));
        line(paint('dim', `  run ${event.runId} · ${event.mode} · model ${event.model} · up to ${event.maxSteps} steps`));
        break;
      case 'step': {
        const decision = event.decision === 'final' ? 'answer' : `call ${event.toolNames.join(', ')}`;
        line(`${paint('cyan', `[${event.step}/${event.maxSteps}]`)} ${paint('bold', decision)} ${paint('dim', `· ${formatDuration(event.elapsedMs)}`)}`);
        // The model's own reasoning is set apart (dimmed, labelled) from what it said.
        if (event.reasoning !== null && event.thinking === true) line(`  ${paint('dim', paint('italic', `thinking: ${oneLine(event.reasoning, 400)}`))}`);
        else if (event.reasoning !== null) line(`  ${paint('italic', oneLine(event.reasoning, 400))}`);
        break;
      }
      case 'tool_call':
        line(`  ${paint('yellow', '→')} ${event.tool} ${paint('dim', oneLine(event.arguments, 200))}`);
        break;
      case 'tool_result': {
        const mark = event.ok ? paint('green', '✓') : paint('red', '✗');
        line(`  ${mark} ${paint('dim', `${event.tool} · ${formatDuration(event.durationMs)}`)} ${oneLine(event.content, resultChars)}`);
        break;
      }
      case 'approval':
        line(`  ${event.outcome === 'approved' ? paint('green', '🔐') : paint('red', '⛔')} ${approvalText(event)}`);
        break;
      case 'stage':
        for (const text of stageLines(event)) line(text.startsWith('  ') ? paint('dim', text) : paint('magenta', text));
        break;
      case 'limit':
        line(paint('yellow', `■ limit: ${event.detail}`));
        break;
      case 'error':
        line(paint('red', `✗ ${event.message}`));
        break;
      case 'final': {
        const { result } = event;
        if (options.summary === 'brief') {
          line();
          line(result.answer ?? paint('yellow', `(no answer: ${result.reason ?? result.status})`));
          for (const text of attachmentLines(result)) line(text);
          line(paint('dim', formatBriefSummary(result)));
          break;
        }
        line();
        if (result.answer !== null) {
          line(paint('bold', result.status === 'succeeded' ? 'Answer' : 'Last words before stopping'));
          line(result.answer);
          line();
        }
        const attached = attachmentLines(result);
        if (attached.length > 0) {
          line(paint('bold', 'Attached files'));
          for (const text of attached) line(text);
          line();
        }
        line(paint('bold', 'Summary'));
        line(formatSummary(result));
        break;
      }
    }
  };
}
