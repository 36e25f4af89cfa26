/**
 * A schedule's reports are its conversation: each kept report is a turn of the conversation
 * `schedule:<id>`, and the next run is told the last few, in order, within a token budget — the
 * oldest shortened first, then left out — so it can say what changed and how things went.
 */
import { estimateTextTokens } from '../llm/tokens.js';
import { clip, oneLine } from '../text.js';
import { scheduleConversationId } from './keys.js';
import type { ConversationStore } from './store.js';
import { CAIRN_AUTHOR } from './types.js';

export interface PastReport {
  runId: string | null;
  text: string;
  /** Epoch ms. */
  at: number;
}

/** What a scheduled run needs of its earlier reports (src/scheduler/execute.ts). */
export interface ScheduleReports {
  /** The last reports, oldest first. */
  recent(scheduleId: string): Promise<PastReport[]>;
  /** Keeps a report as the schedule's newest. */
  keep(scheduleId: string, report: PastReport): Promise<void>;
  /** Deletes every kept report (the schedule is removed: nothing of it stays behind). */
  forget(scheduleId: string): Promise<void>;
}

export const REPORTS_KEPT = 5;
const REPORT_CHARS = 3_000;
const SHORT_REPORT_CHARS = 300;

export class StoredScheduleReports implements ScheduleReports {
  constructor(
    private readonly store: ConversationStore,
    private readonly kept = REPORTS_KEPT,
  ) {}

  async recent(scheduleId: string): Promise<PastReport[]> {
    const turns = await this.store.turns(scheduleConversationId(scheduleId));
    return turns.slice(-this.kept).map((t) => ({ runId: t.runId, text: t.text, at: t.createdAt }));
  }

  async keep(scheduleId: string, report: PastReport): Promise<void> {
    const id = scheduleConversationId(scheduleId);
    const conversation =
      (await this.store.get(id)) ?? (await this.store.create({ id, kind: 'schedule', visibility: 'channel', ownerId: null, guildId: null, channelId: null }, []));
    const updated = await this.store.append(conversation, [
      { role: 'assistant', authorId: CAIRN_AUTHOR, authorName: 'Cairn', text: report.text, runId: report.runId, messageIds: [], createdAt: report.at },
    ]);
    if (updated.turns > this.kept) await this.store.keepNewest(updated, this.kept);
  }

  async forget(scheduleId: string): Promise<void> {
    await this.store.forget([scheduleConversationId(scheduleId)]);
  }
}

/**
 * The reports as briefing lines, oldest first, within `budgetTokens`: the latest in full (up to
 * 3,000 characters, worded as a single previous report always was), older ones in full while they
 * fit, then shortened to a line, then left out — the oldest first.
 */
export function renderReports(reports: readonly PastReport[], budgetTokens = 2_500): string[] {
  const latest = reports.at(-1);
  if (latest === undefined) return [];
  const last = [`Your previous report, from ${new Date(latest.at).toISOString()}, said:`, '<<<', clip(latest.text, REPORT_CHARS), '>>>'];
  const cost = (lines: string[]) => estimateTextTokens(lines.join('\n').length + 1);
  let used = cost(last);
  const older: string[][] = [];
  let left = 0;
  for (let i = reports.length - 2; i >= 0; i--) {
    const report = reports[i];
    if (report === undefined) continue;
    const head = `Report of ${new Date(report.at).toISOString()}:`;
    const whole = [head, '<<<', clip(report.text, REPORT_CHARS), '>>>'];
    const short = [`${head} <<< ${oneLine(report.text, SHORT_REPORT_CHARS)} >>>`];
    const shown = used + cost(whole) <= budgetTokens ? whole : used + cost(short) <= budgetTokens ? short : null;
    if (shown === null) {
      left = i + 1;
      break;
    }
    older.unshift(shown);
    used += cost(shown);
  }
  if (older.length === 0 && left === 0) return last;
  const intro = `Your earlier reports, oldest first${left > 0 ? ` (${left} older ${left === 1 ? 'one' : 'ones'} left out)` : ''}:`;
  return [intro, ...older.flat(), ...last];
}
