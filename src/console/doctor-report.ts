/**
 * The shape of `cairn doctor`'s findings, how each check is bounded in time, and how the findings
 * are printed. The checks themselves live in doctor-model.ts and doctor-checks.ts.
 */
import { errorMessage, oneLine } from '../text.js';

/**
 * - `ok`: works.
 * - `warn`: the bot runs, but something is degraded (prompt-mode tools, no web search…).
 * - `fail`: the bot cannot run until this is fixed (exit code 1).
 * - `skip`: not configured or not checkable, e.g. no DISCORD_TOKEN; the detail says why.
 */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** One row of the report. Never carries a secret: details are written here, not copied from config. */
export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warn or fail, in words an operator can act on. */
  fix?: string;
}

/**
 * One independent check: it may report several rows (the model server: reachable, then the model
 * listed). Checks run concurrently; each bounds its own time with `bounded`. This is also the hook
 * for checks owned elsewhere (the context window row): pass them as `extraChecks` to `runDoctor`.
 */
export type DoctorCheck = () => Promise<CheckResult[]>;

export interface Bound {
  /** The row reported when the check does not finish in time (or throws). */
  name: string;
  timeoutMs: number;
  /** What running out of time means for the bot: usually a warn (slow), a fail when nothing can work without it. */
  onTimeout: 'warn' | 'fail';
  /** The fix shown with a timeout. */
  timeoutFix?: string;
}

/**
 * Runs `work` with its own deadline. Its signal is aborted at the deadline, and the row says so
 * at once rather than waiting for work that ignores the signal. An exception becomes a fail row:
 * a check with a bug must not hide the others.
 */
export async function bounded(bound: Bound, work: (signal: AbortSignal) => Promise<CheckResult[]>): Promise<CheckResult[]> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<CheckResult[]>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new DOMException(`no answer within ${bound.timeoutMs / 1000} s`, 'TimeoutError'));
      resolve([
        {
          name: bound.name,
          status: bound.onTimeout,
          detail: `no answer within ${formatSeconds(bound.timeoutMs)}`,
          ...(bound.timeoutFix === undefined ? {} : { fix: bound.timeoutFix }),
        },
      ]);
    }, bound.timeoutMs);
  });
  const done = work(controller.signal).catch((err: unknown): CheckResult[] => [
    { name: bound.name, status: 'fail', detail: `the check itself failed: ${oneLine(errorMessage(err), 300)}` },
  ]);
  try {
    return await Promise.race([done, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every check at once; rows keep the order of the checks. */
export async function runChecks(checks: readonly DoctorCheck[]): Promise<CheckResult[]> {
  const results = await Promise.all(
    checks.map((check) =>
      check().catch((err: unknown): CheckResult[] => [
        { name: 'doctor', status: 'fail', detail: `a check failed unexpectedly: ${oneLine(errorMessage(err), 300)}` },
      ]),
    ),
  );
  return results.flat();
}

/** The bot can run when no check failed. */
export function canRun(results: readonly CheckResult[]): boolean {
  return results.every((r) => r.status !== 'fail');
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

const STATUS_LABEL: Record<CheckStatus, string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

/**
 * The plain-text table: check, status and detail in columns, the fix on the line below its row
 * (fixes are sentences; a fourth column would wrap on any terminal). Ends with a verdict.
 */
export function renderTable(results: readonly CheckResult[]): string {
  const nameWidth = Math.max('CHECK'.length, ...results.map((r) => r.name.length));
  const statusWidth = 'STATUS'.length;
  const pad = (s: string, n: number) => s.padEnd(n);
  const indent = ' '.repeat(nameWidth + statusWidth + 4);
  const lines = [`${pad('CHECK', nameWidth)}  ${pad('STATUS', statusWidth)}  DETAIL`];
  for (const r of results) {
    lines.push(`${pad(r.name, nameWidth)}  ${pad(STATUS_LABEL[r.status], statusWidth)}  ${r.detail}`);
    if (r.fix !== undefined) lines.push(`${indent}fix: ${r.fix}`);
  }
  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  const tally = `${count('ok')} ok, ${count('warn')} warning${count('warn') === 1 ? '' : 's'}, ${count('fail')} failed, ${count('skip')} skipped`;
  lines.push('', canRun(results) ? `Cairn can run (${tally}).` : `Cairn cannot run until the failed checks are fixed (${tally}).`);
  return lines.join('\n');
}

/** `--json`: one object, the same rows. */
export function renderJson(results: readonly CheckResult[]): string {
  return JSON.stringify({ ok: canRun(results), checks: results });
}
