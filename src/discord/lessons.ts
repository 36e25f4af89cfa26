/**
 * Lessons learned, on Discord: the reflector starts making them once this process can post them
 * (a lesson made before would be saved and never announced).
 */
import type { Client } from 'discord.js';
import type { App } from '../app.js';
import type { OpenQueue } from './queue-roles.js';
import { sendToChannel } from './send.js';

/** Posts each lesson, then starts the reflections (with a queue, the worker's reflection jobs too). */
export function startReflections(app: App, client: Client, queued: OpenQueue | null): void {
  app.reflector.onLesson = postLesson(client);
  app.reflector.start();
  queued?.makeReflections();
}

/** Posts a lesson learned where its run was: in its channel, or to its owner alone for a private run. */
function postLesson(client: Client): NonNullable<App['reflector']['onLesson']> {
  return async ({ episode, lesson }) => {
    const note = `📝 **Lesson learned** from run \`${episode.id}\`: ${lesson.doInstead.replace(/\.$/, '')} (applies to: ${lesson.appliesWhen.replace(/\.$/, '')}).`;
    const channelId = episode.scope.channelId;
    if (episode.visibility !== 'private' && channelId !== undefined) await sendToChannel(client, channelId, note.slice(0, 2_000));
    else await (await client.users.fetch(episode.scope.userId)).send(note.slice(0, 2_000));
  };
}
