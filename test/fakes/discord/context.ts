import type { Gateway } from './gateway.js';
import type { Interactions } from './interactions.js';
import type { Messages } from './messages.js';
import type { World } from './world.js';

/** What REST routes share: state, the gateway for events, and the lifecycle helpers. */
export interface Ctx {
  world: World;
  gateway: Gateway;
  messages: Messages;
  interactions: Interactions;
  /** Whether the app is approved for MessageContent (REST hides others' content otherwise). */
  messageContentApproved: boolean;
  /** The application's flags, as GET /applications/@me reports them (the privileged intents it was given). */
  applicationFlags: number;
  gatewayUrl(): string;
  /** GET /gateway/bot's `shards`. */
  recommendedShards: number;
}
