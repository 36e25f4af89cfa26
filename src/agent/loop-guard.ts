import type { ToolCall } from '../llm/types.js';

export type LoopVerdict =
  | { action: 'run' }
  | { action: 'warn'; note: string }
  | { action: 'stop'; detail: string };

/** Canonical form of a call: key order and whitespace in the JSON must not hide a repeat. */
function signatureOf(call: ToolCall): string {
  let args: unknown;
  try {
    args = JSON.parse(call.arguments === '' ? '{}' : call.arguments);
  } catch {
    return `${call.name}\u0000${call.arguments.trim()}`;
  }
  return `${call.name}\u0000${JSON.stringify(sortKeys(args))}`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  }
  return value;
}

/**
 * Catches a model stuck repeating itself. The same call (same tool, same arguments) seen twice
 * among the recent calls earns a warning in the observation; a third time stops the run.
 */
export class LoopGuard {
  private readonly recent: { signature: string; step: number }[] = [];

  constructor(private readonly window = 8) {}

  check(call: ToolCall, step: number): LoopVerdict {
    const signature = signatureOf(call);
    const earlier = this.recent.filter((r) => r.signature === signature);
    this.recent.push({ signature, step });
    if (this.recent.length > this.window) this.recent.shift();
    const first = earlier[0];
    if (first === undefined) return { action: 'run' };
    if (earlier.length === 1) {
      return {
        action: 'warn',
        note:
          `Note: you already made this exact call (${call.name} with the same arguments) at step ${first.step}. ` +
          'If nothing has changed it will give the same result. Try a different approach or give your final answer; ' +
          'repeating this call once more will stop the run.',
      };
    }
    return {
      action: 'stop',
      detail: `the model repeated the same call (${call.name} with the same arguments) ${earlier.length + 1} times`,
    };
  }
}
