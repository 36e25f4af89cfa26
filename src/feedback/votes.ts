import type { App } from '../app.js';
import type { Vote } from '../memory/episodes.js';
import { keepApproach } from './examples.js';

/** A bare 👎 waits this long for its comment before the reflection runs. */
export const COMMENT_GRACE_MS = 60_000;
/** Each new 👎 on a run multiplies the importance of the lessons it followed by this. */
export const LESSON_PENALTY = 0.6;

export interface VoteOptions {
  /**
   * Whether this vote teaches: the run's owner's (or, on a scheduled report, anyone's in its
   * channel). Others' votes are stored on the run and shown, but change no lesson and cost nothing.
   */
  teaches: boolean;
}

/**
 * What a vote does, from any surface: it is stored on the run (one per user, the latest wins).
 * A teaching 👎 queues a reflection (paid from the voter's daily budget) and, the first time this
 * person gives one on this run, weakens the lessons the run followed — toggling a vote again
 * counts once. A teaching 👍 on a successful run keeps its approach. False when the run is unknown.
 */
export async function recordVote(app: App, runId: string, vote: Omit<Vote, 'at'>, options: VoteOptions): Promise<boolean> {
  const episode = await app.memory.episodes.get(runId);
  if (episode === undefined) return false;
  await app.memory.episodes.vote(runId, { ...vote, at: Date.now() });
  app.log.info({ runId, userId: vote.userId, vote: vote.vote, comment: vote.comment !== null, teaches: options.teaches }, 'feedback recorded');
  if (!options.teaches) return true;
  if (vote.vote === 'up' && episode.status === 'succeeded') await keepApproach(app.memory, episode);
  if (vote.vote === 'down') {
    const first = await app.reflector.request({
      runId,
      cause: 'down_vote',
      userId: vote.userId,
      comment: vote.comment,
      ...(vote.comment === null ? { delayMs: COMMENT_GRACE_MS } : {}),
    });
    if (first) await app.memory.semantic.weaken(episode.appliedLessonIds, LESSON_PENALTY);
  }
  return true;
}
