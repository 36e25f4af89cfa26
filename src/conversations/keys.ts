/**
 * The link keys that find a conversation. Opaque to the store; named here so every surface builds
 * them the same way. Message ids cover both sides: a person's message Cairn answered and each
 * message of Cairn's answer, so replying to either continues the conversation.
 */
export const messageKey = (messageId: string): string => `message:${messageId}`;
export const threadKey = (threadId: string): string => `thread:${threadId}`;
export const dmKey = (channelId: string): string => `dm:${channelId}`;

/** A schedule's reports are one conversation, with a fixed id. */
export const scheduleConversationId = (scheduleId: string): string => `schedule:${scheduleId}`;
