import type { App } from '../app.js';
import type { Vote } from '../memory/episodes.js';
import { keepApproach } from './examples.js';

/** A bare 👎 waits this long for its comment before the reflection runs. */
export const COMMENT_GRACE_MS = 60_000;
/** Each new 👎 on a run multiplies the importance of the lessons it followed by this. */
export const LESSON_PENALTY = 0.6;

/**
 * What a vote does, from any surface: it is stored on the run (one per user, the latest wins);
 * a new 👎 weakens the lessons the run followed and queues a reflection; a 👍 on a successful run
 * keeps its approach as an example. False when the run is unknown.
 */
export async function recordVote(app: App, runId: string, vote: Omit<Vote, 'at'>): Promise<boolean> {
  const episode = await app.memory.episodes.get(runId);
  if (episode === undefined) return false;
  const previous = episode.feedback.find((v) => v.userId === vote.userId)?.vote;
  await app.memory.episodes.vote(runId, { ...vote, at: Date.now() });
  app.log.info({ runId, userId: vote.userId, vote: vote.vote, comment: vote.comment !== null }, 'feedback recorded');
  if (vote.vote === 'up' && episode.status === 'succeeded') await keepApproach(app.memory, episode);
  if (vote.vote === 'down') {
    if (previous !== 'down') await app.memory.semantic.weaken(episode.appliedLessonIds, LESSON_PENALTY);
    await app.reflector.request({ runId, cause: 'down_vote', userId: vote.userId, comment: vote.comment, ...(vote.comment === null ? { delayMs: COMMENT_GRACE_MS } : {}) });
  }
  return true;
}
