/**
 * Forgetting a person (`/memory forget`, `cairn memory forget --user`) forgets their run records
 * too, and exporting their data includes them. Memory knows one hook for a person's data kept outside its own tables, PersonTurns; this
 * wraps the conversation tables' so the same call also deletes the run records.
 */
import type { Logger } from '../log.js';
import type { PersonTurns } from '../memory/memory.js';
import type { RunRecordStore } from './store.js';

export function forgettingRunRecords(
  turns: PersonTurns,
  records: Pick<RunRecordStore, 'forgetUser' | 'recordsOf'>,
  log: Logger,
  /** Unfinished durable runs (src/durable): their records and journals hold what the person asked and what their runs saw. */
  unfinished?: { forgetUser(userId: string): Promise<number> },
): PersonTurns {
  return {
    turnsOf: (userId) => turns.turnsOf(userId),
    // `/memory export` includes them: what a person asked is their data.
    runRecordsOf: async function* (userId) {
      yield* await records.recordsOf(userId);
    },
    forgetUser: async (userId) => {
      const forgotten = await turns.forgetUser(userId);
      const runs = await records.forgetUser(userId);
      const durable = (await unfinished?.forgetUser(userId)) ?? 0;
      log.info({ userId, runRecords: runs, unfinishedRuns: durable }, 'forgot a person’s run records');
      return forgotten;
    },
  };
}
