import type { Approver } from '../agent/approval.js';

/** Asks one question on the terminal; rejects when `signal` aborts (timeout or cancellation). */
export type Ask = (question: string, signal: AbortSignal) => Promise<string>;

export interface TerminalApproverOptions {
  /** `--yes`: approve every request without asking (for scripts). */
  yes: boolean;
  /** How to ask; null without a terminal, where requests are denied. */
  ask: Ask | null;
  /** Where notes go (stderr, so `--json` output stays clean). */
  notes: { write(text: string): unknown };
}

/** Approvals from the terminal: y/n at a prompt, `--yes` for scripts, denial with no terminal. */
export function terminalApprover(options: TerminalApproverOptions): Approver {
  return async (request, signal) => {
    if (options.yes) return { outcome: 'approved', by: '--yes' };
    if (options.ask === null) {
      options.notes.write(`cairn: "${request.tool}" needs approval and there is no terminal to ask, so it was not run. Use --yes to approve every request.\n`);
      return { outcome: 'unavailable', by: null };
    }
    const timeout = AbortSignal.timeout(request.timeoutMs);
    // All of the arguments, before the question: what is approved is what runs.
    options.notes.write(`\n🔐 ${request.tool} (risk ${request.risk}) wants to run with:\n${request.arguments}\n${request.reason === undefined ? '' : `⚠️ ${request.reason}\n`}`);
    const question = `Allow ${request.tool}? [y/N, ${Math.round(request.timeoutMs / 1000)} s] `;
    try {
      const answer = await options.ask(question, AbortSignal.any([signal, timeout]));
      return /^\s*y(es)?\s*$/i.test(answer) ? { outcome: 'approved', by: 'you' } : { outcome: 'denied', by: 'you' };
    } catch {
      if (timeout.aborted) options.notes.write('\n(no answer in time: not run)\n');
      return { outcome: timeout.aborted ? 'timed_out' : 'denied', by: null };
    }
  };
}
