/**
 * The conversation vocabulary: what a conversation is, its turns, and the ports a surface fills in.
 * Nothing here knows Discord: a place is named by plain ids, and links are opaque keys a surface
 * chooses (src/conversations/keys.ts has the ones the Discord surface uses).
 */

/**
 * Where a conversation lives. `thread`: a thread (a run's, or one opened for a mention); `dm`: a
 * direct-message channel; `chain`: a reply chain in a channel; `schedule`: a schedule's reports;
 * `chat`: a `cairn chat` session (held in memory, never stored).
 */
export const CONVERSATION_KINDS = ['thread', 'dm', 'chain', 'schedule', 'chat'] as const;
export type ConversationKind = (typeof CONVERSATION_KINDS)[number];

/**
 * Who may read a conversation's turns: `channel` — everyone where it happens (a thread or a reply
 * chain in a server channel); `private` — its owner alone (a DM). A private turn never enters a
 * shared conversation (src/conversations/store.ts refuses it).
 */
export type ConversationVisibility = 'private' | 'channel';

export interface Conversation {
  id: string;
  kind: ConversationKind;
  visibility: ConversationVisibility;
  /** The owner of a private conversation (the DM's person); null for shared ones. */
  ownerId: string | null;
  guildId: string | null;
  /** The channel it happens in (for a thread: its parent; for a DM: the DM channel). */
  channelId: string | null;
  createdAt: number;
  updatedAt: number;
  /** Turns stored so far (at most the configured maximum). */
  turns: number;
}

export type TurnRole = 'user' | 'assistant';

/** One turn: something a person said, or Cairn's answer. */
export interface Turn {
  id: string;
  conversationId: string;
  role: TurnRole;
  /** The person's id, or `cairn` for Cairn's own turns. */
  authorId: string;
  /** How the author is called (a display name anyone can take: attribution goes by `authorId`). */
  authorName: string;
  text: string;
  /** The run that produced or answered it, if any. */
  runId: string | null;
  visibility: ConversationVisibility;
  /** The owner of a private turn; null for shared ones. */
  ownerId: string | null;
  /** The surface's message ids carrying the turn (an answer may take several messages). */
  messageIds: string[];
  createdAt: number;
}

export type NewTurn = Omit<Turn, 'id' | 'conversationId' | 'visibility' | 'ownerId'> & {
  /** Default: the conversation's. A private turn is refused in a shared conversation. */
  visibility?: ConversationVisibility;
};

/** The author id of Cairn's own turns. */
export const CAIRN_AUTHOR = 'cairn';

/**
 * A place to decide about: the same shape as src/settings' SettingsWhere, so the settings service
 * can answer for it (server → channel → thread inheritance). In a DM `guildId` is null.
 */
export interface ConversationPlace {
  guildId: string | null;
  /** The channel; for a thread, its parent channel; for a DM, the DM channel. */
  channelId: string | null;
  /** The thread, when the place is one. */
  threadId?: string | null;
}

/**
 * Per-place choices about conversations. The default follows the environment (CAIRN_THREADS; mentions
 * always on); the settings service (/config) answers per server, channel and thread instead.
 */
export interface ConversationPolicy {
  /** Whether a mention in this channel opens a thread for the answer (and the conversation goes on there). */
  threads(place: ConversationPlace): boolean;
  /**
   * Whether Cairn answers messages here at all: mentions, replies to it, and messages in its
   * threads. Off, it stays silent there (slash commands still work).
   */
  mentions(place: ConversationPlace): boolean;
}
