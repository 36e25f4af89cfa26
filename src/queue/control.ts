/**
 * Messages between Cairn's processes over Redis pub/sub: a Cancel pressed on the gateway reaches
 * the worker running the run; an approval decided on the gateway (and kept in the approvals
 * store, src/durable/approvals.ts) wakes the worker waiting on it. Pub/sub is fire-and-forget: a
 * worker that missed a message finds the decision in the store when it looks again.
 */
import { z } from 'zod';
import type { Logger } from '../log.js';
import { closeRedis, connectRedis, type Redis } from './connection.js';

export const ControlMessage = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('cancel'), runId: z.string().min(1).max(200), reason: z.string().max(500) }),
  z.object({ kind: z.literal('approval'), token: z.string().min(1).max(100) }),
]);
export type ControlMessage = z.output<typeof ControlMessage>;

export class ControlChannel {
  private constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly channel: string,
  ) {}

  /** Subscribed (awaited) before it returns: a message published after that reaches `onMessage`. */
  static async open(url: string, onMessage: (message: ControlMessage) => void, log: Logger, prefix = 'cairn'): Promise<ControlChannel> {
    const channel = `${prefix}:control`;
    const publisher = connectRedis(url, 'control');
    const subscriber = connectRedis(url, 'control-sub');
    subscriber.on('message', (from: string, text: string) => {
      if (from !== channel) return;
      let parsed: ReturnType<typeof ControlMessage.safeParse>;
      try {
        parsed = ControlMessage.safeParse(JSON.parse(text));
      } catch {
        log.warn('an unreadable control message was ignored');
        return;
      }
      if (parsed.success) onMessage(parsed.data);
      else log.warn({ issue: parsed.error.issues[0]?.message }, 'a malformed control message was ignored');
    });
    await subscriber.subscribe(channel);
    return new ControlChannel(publisher, subscriber, channel);
  }

  async publish(message: ControlMessage): Promise<void> {
    await this.publisher.publish(this.channel, JSON.stringify(ControlMessage.parse(message)));
  }

  async close(): Promise<void> {
    await Promise.all([closeRedis(this.subscriber), closeRedis(this.publisher)]);
  }
}
