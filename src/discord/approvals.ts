import { randomBytes } from 'node:crypto';
import { ActionRowBuilder, AttachmentBuilder, ButtonBuilder, ButtonStyle, MessageFlags, type ButtonInteraction } from 'discord.js';
import type { ApprovalDecision, ApprovalRequest, Approver } from '../agent/approval.js';
import { clip } from '../text.js';
import { NO_PREVIEWS } from './answer.js';
import { encodeAction } from './components.js';

/** A posted approval request: edited once it is decided or has timed out. */
export interface PostedRequest {
  edit(content: string): Promise<void>;
}

/** How an approval request is posted for a run (a follow-up, a reply, …). */
export type PostRequest = (payload: {
  content: string;
  components: ActionRowBuilder<ButtonBuilder>[];
  allowedMentions: { users: string[] };
  flags: typeof NO_PREVIEWS;
  files: AttachmentBuilder[];
}) => Promise<PostedRequest>;

/** Arguments longer than this are attached as a file rather than cut: what is approved is what runs. */
const INLINE_ARGUMENTS = 1_200;

interface Waiting {
  starterId: string;
  tool: string;
  decide: (decision: ApprovalDecision) => void;
}

/** Approval requests waiting for a button, by their token (which the buttons carry). */
export class PendingApprovals {
  private readonly waiting = new Map<string, Waiting>();

  /**
   * An approver that asks the run's starter with Approve/Deny buttons. No answer within the
   * request's time means deny; the message always ends saying what happened.
   */
  approverFor(starterId: string, runId: string, post: PostRequest, onError: (error: unknown) => void): Approver {
    return async (request, signal) => {
      if (signal.aborted) return { outcome: 'denied', by: null };
      const token = randomBytes(16).toString('hex');
      const seconds = Math.round(request.timeoutMs / 1000);
      // Waiting before the request is posted: a press can arrive as soon as the message exists.
      let finish: (decision: ApprovalDecision) => void = () => undefined;
      const decided = new Promise<ApprovalDecision>((resolve) => {
        const timer = setTimeout(() => {
          finish({ outcome: 'timed_out', by: null });
        }, request.timeoutMs);
        timer.unref();
        const onAbort = () => {
          finish({ outcome: 'denied', by: null });
        };
        finish = (decision) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          this.waiting.delete(token);
          resolve(decision);
        };
        signal.addEventListener('abort', onAbort, { once: true });
      });
      this.waiting.set(token, { starterId, tool: request.tool, decide: finish });
      let posted: PostedRequest;
      try {
        posted = await post({
          content: requestText(starterId, request, `Approve within ${seconds} s, or it will not run.`),
          components: [buttons(token, runId)],
          allowedMentions: { users: [starterId] },
          // The request shows the full URL: a preview would fetch it before anyone approved it.
          flags: NO_PREVIEWS,
          files: request.arguments.length > INLINE_ARGUMENTS ? [new AttachmentBuilder(Buffer.from(request.arguments), { name: 'arguments.json' })] : [],
        });
      } catch (error) {
        finish({ outcome: 'unavailable', by: null });
        throw error;
      }
      const decision = await decided;
      // A button press has already updated the message; a timeout or cancellation has not.
      if (decision.by === null) {
        const why = decision.outcome === 'timed_out' ? `⏱️ No answer within ${seconds} s: not run.` : '⏹️ The run stopped before an answer: not run.';
        await posted.edit(requestText(starterId, request, why)).catch(onError);
      }
      return decision;
    };
  }

  /**
   * A press on Approve or Deny: only the run's starter may decide. The first press decides at
   * once (a second one finds nothing waiting), then the message is edited to say so.
   */
  async press(interaction: ButtonInteraction, token: string, approve: boolean): Promise<void> {
    const waiting = this.waiting.get(token);
    if (waiting === undefined) {
      await interaction.reply({ content: 'This request is no longer waiting for an answer.', flags: MessageFlags.Ephemeral });
      return;
    }
    if (interaction.user.id !== waiting.starterId) {
      await interaction.reply({ content: `Only <@${waiting.starterId}>, who started this run, can approve its tool calls.`, flags: MessageFlags.Ephemeral });
      return;
    }
    waiting.decide({ outcome: approve ? 'approved' : 'denied', by: interaction.user.username });
    const by = `<@${interaction.user.id}>`;
    const verdict = approve ? `✅ Approved by ${by}.` : `❌ Denied by ${by}: not run.`;
    const original = interaction.message.content.split('\n').slice(0, -1).join('\n');
    await interaction.update({ content: clip(`${original}\n${verdict}`, 2_000), components: [], allowedMentions: { parse: [] } });
  }
}

function requestText(starterId: string, request: ApprovalRequest, last: string): string {
  const args =
    request.arguments.length > INLINE_ARGUMENTS
      ? `Its arguments (${request.arguments.length.toLocaleString('en')} characters) are attached as arguments.json: read them before approving.`
      : `\`\`\`json\n${request.arguments.replaceAll('```', '`\u200b``')}\n\`\`\``;
  const why = request.reason === undefined ? '' : `\n⚠️ ${request.reason}`;
  return `🔐 <@${starterId}>, Cairn wants to run \`${request.tool}\` (risk ${request.risk}):${why}\n${args}\n${last}`;
}

function buttons(token: string, runId: string): ActionRowBuilder<ButtonBuilder> {
  return new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(encodeAction({ kind: 'approve', token, runId })).setLabel('Approve').setStyle(ButtonStyle.Success),
    new ButtonBuilder().setCustomId(encodeAction({ kind: 'deny', token, runId })).setLabel('Deny').setStyle(ButtonStyle.Danger),
  );
}
