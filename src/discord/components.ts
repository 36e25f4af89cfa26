import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  LabelBuilder,
  ModalBuilder,
  TextInputBuilder,
  TextInputStyle,
} from 'discord.js';
import { z } from 'zod';

/** Buttons and modals carry the run id in their custom id, so they work across restarts. */
export type ComponentAction =
  | { kind: 'vote'; vote: 'up' | 'down'; runId: string }
  | { kind: 'cancel'; runId: string }
  | { kind: 'retry'; runId: string }
  /** The Ask Cairn modal: a token for the message kept in memory, and the message's id. */
  | { kind: 'ask'; token: string; messageId: string }
  | { kind: 'comment'; runId: string }
  | { kind: 'approve'; token: string; runId: string }
  | { kind: 'deny'; token: string; runId: string };

const RUN_ID = z.string().regex(/^[a-z0-9-]{6,40}$/);
export const UP = '👍';
export const DOWN = '👎';
export const RETRY = '🔁';

export function encodeAction(action: ComponentAction): string {
  switch (action.kind) {
    case 'vote':
      return `cairn:vote:${action.vote}:${action.runId}`;
    case 'cancel':
      return `cairn:cancel:${action.runId}`;
    case 'retry':
      return `cairn:retry:${action.runId}`;
    case 'ask':
      return `cairn:ask:${action.token}:${action.messageId}`;
    case 'comment':
      return `cairn:comment:${action.runId}`;
    case 'approve':
    case 'deny':
      return `cairn:${action.kind}:${action.token}:${action.runId}`;
  }
}

/** Parses a custom id; null for anything that is not one of ours (or is malformed). */
export function decodeAction(customId: string): ComponentAction | null {
  const parts = customId.split(':');
  if (parts[0] !== 'cairn') return null;
  if (parts[1] === 'ask') {
    const [token, messageId] = [parts[2] ?? '', parts[3] ?? ''];
    return parts.length === 4 && /^[0-9a-f]{32}$/.test(token) && /^\d{17,20}$/.test(messageId) ? { kind: 'ask', token, messageId } : null;
  }
  const runId = RUN_ID.safeParse(parts.at(-1));
  if (!runId.success) return null;
  if (parts[1] === 'vote' && (parts[2] === 'up' || parts[2] === 'down') && parts.length === 4) return { kind: 'vote', vote: parts[2], runId: runId.data };
  if (parts[1] === 'cancel' && parts.length === 3) return { kind: 'cancel', runId: runId.data };
  if (parts[1] === 'retry' && parts.length === 3) return { kind: 'retry', runId: runId.data };
  if (parts[1] === 'comment' && parts.length === 3) return { kind: 'comment', runId: runId.data };
  if ((parts[1] === 'approve' || parts[1] === 'deny') && parts.length === 4 && /^[0-9a-f]{32}$/.test(parts[2] ?? '')) {
    const token = parts[2] ?? '';
    return parts[1] === 'approve' ? { kind: 'approve', token, runId: runId.data } : { kind: 'deny', token, runId: runId.data };
  }
  return null;
}

/** 👍/👎 and, for runs someone started (they keep a run record), 🔁 Retry. */
export function feedbackRow(runId: string, options: { retry?: boolean } = {}): ActionRowBuilder<ButtonBuilder> {
  return new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(encodeAction({ kind: 'vote', vote: 'up', runId })).setEmoji(UP).setStyle(ButtonStyle.Secondary),
    new ButtonBuilder().setCustomId(encodeAction({ kind: 'vote', vote: 'down', runId })).setEmoji(DOWN).setStyle(ButtonStyle.Secondary),
    ...(options.retry === true ? [new ButtonBuilder().setCustomId(encodeAction({ kind: 'retry', runId })).setEmoji(RETRY).setLabel('Retry').setStyle(ButtonStyle.Secondary)] : []),
  );
}

export function cancelRow(runId: string): ActionRowBuilder<ButtonBuilder> {
  return new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(encodeAction({ kind: 'cancel', runId })).setLabel('Cancel').setStyle(ButtonStyle.Danger),
  );
}

export const COMMENT_FIELD = 'comment';

export function commentModal(runId: string): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(encodeAction({ kind: 'comment', runId }))
    .setTitle('What went wrong? (optional)')
    .addLabelComponents(
      new LabelBuilder()
        .setLabel('Your comment helps Cairn learn')
        .setTextInputComponent(new TextInputBuilder().setCustomId(COMMENT_FIELD).setStyle(TextInputStyle.Paragraph).setRequired(false).setMaxLength(1000)),
    );
}

const RowJson = z.object({ components: z.array(z.looseObject({ custom_id: z.string().optional() })) });

/** Finds the run id on a message by its feedback buttons (e.g. for reactions after a restart). */
export function runIdFromComponents(rows: readonly { toJSON(): unknown }[]): string | null {
  for (const row of rows) {
    const parsed = RowJson.safeParse(row.toJSON());
    for (const component of parsed.success ? parsed.data.components : []) {
      const action = component.custom_id === undefined ? null : decodeAction(component.custom_id);
      if (action?.kind === 'vote') return action.runId;
    }
  }
  return null;
}
