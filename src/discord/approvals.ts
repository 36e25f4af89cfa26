import { randomBytes } from 'node:crypto';
import { ActionRowBuilder, AttachmentBuilder, ButtonBuilder, ButtonStyle, MessageFlags, type ButtonInteraction, type Message } from 'discord.js';
import type { ApprovalDecision, ApprovalRequest, Approver } from '../agent/approval.js';
import { clip } from '../text.js';
import { NO_PREVIEWS } from './answer.js';
import { encodeAction } from './components.js';
import { suspendedBy } from '../agent/abort.js';
import { approvalKey, type PendingApprovalStore, type PostedRef } from '../durable/approvals.js';
import type { Logger } from '../log.js';

/** A posted approval request: edited once it is decided or has timed out. */
export interface PostedRequest {
  edit(content: string): Promise<void>;
  /** Where it is, for editing it after a restart (null: an ephemeral message, which only its interaction can edit). */
  ref: PostedRef | null;
}

/** A request posted as a message Cairn can edit with its own token (a reply, a channel message, a DM). */
export function postedMessage(message: Message): PostedRequest {
  return {
    ref: { channelId: message.channelId, messageId: message.id },
    edit: async (content) => {
      await message.edit({ content, components: [] });
    },
  };
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

export interface PendingApprovalsOptions {
  /** Keeps requests across restarts (src/durable/approvals.ts); without it they live in this process only. */
  store?: PendingApprovalStore;
  /** A handle on a request posted before a restart, from where it is. */
  reopen?: (ref: PostedRef) => PostedRequest;
  /**
   * With a queue: a press here on a request a worker is waiting on (kept in the store) is passed
   * on, so that worker goes on at once (src/queue/control.ts).
   */
  decidedElsewhere?: (token: string) => Promise<void>;
  log?: Logger;
}

/**
 * Approval requests waiting for a button, by their token (which the buttons carry). With a
 * store, a request outlives the process: a run resumed after a restart waits on the request it
 * posted before (its buttons still work, its deadline stands), and a press that comes before the
 * run gets back to it is kept for it.
 */
export class PendingApprovals {
  private readonly waiting = new Map<string, Waiting>();

  constructor(private readonly options: PendingApprovalsOptions = {}) {}

  /**
   * An approver that asks the run's starter with Approve/Deny buttons. No answer within the
   * request's time means deny; the message always ends saying what happened.
   */
  approverFor(starterId: string, runId: string, post: PostRequest, onError: (error: unknown) => void): Approver {
    return async (request, signal) => {
      if (signal.aborted) return { outcome: 'denied', by: null };
      const { store } = this.options;
      const key = approvalKey(runId, request.callId);
      const before = await store?.byKey(key).catch((error: unknown) => {
        onError(error);
        return undefined;
      });
      // The same run, call and person as before a restart: wait on that request, not a new one.
      const resumed = before !== undefined && before.starterId === starterId && before.tool === request.tool ? before : undefined;
      if (resumed?.decision != null) {
        await store?.remove(key).catch(onError);
        return resumed.decision;
      }
      const token = resumed?.token ?? randomBytes(16).toString('hex');
      const deadline = resumed?.deadline ?? Date.now() + request.timeoutMs;
      const seconds = Math.round(request.timeoutMs / 1000);
      // Waiting before the request is posted: a press can arrive as soon as the message exists.
      let finish: (decision: ApprovalDecision) => void = () => undefined;
      const decided = new Promise<ApprovalDecision>((resolve) => {
        const timer = setTimeout(
          () => {
            finish({ outcome: 'timed_out', by: null });
          },
          Math.max(0, deadline - Date.now()),
        );
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
      let posted: PostedRequest | null;
      const stored = { key, token, runId, starterId, tool: request.tool, deadline, decision: null };
      if (resumed?.posted.sent === true) {
        posted = resumed.posted.ref === null ? null : (this.options.reopen?.(resumed.posted.ref) ?? null);
        // A press kept since the lookup above.
        const pressed = (await store?.byKey(key).catch(() => undefined))?.decision;
        if (pressed != null) finish(pressed);
      } else {
        // Kept before it is posted: a press can come as soon as it is out, and the process may die just after.
        await store?.save({ ...stored, posted: { sent: false, ref: null } }).catch(onError);
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
          await store?.remove(key).catch(onError);
          throw error;
        }
        await store?.save({ ...stored, posted: { sent: true, ref: posted.ref } }).catch(onError);
      }
      const decision = await decided;
      // Suspended by a shutdown: the request stays open for the run to wait on after the restart.
      if (suspendedBy(signal)) return decision;
      await store?.remove(key).catch(onError);
      // A button press has already updated the message; a timeout or cancellation has not.
      if (decision.by === null) {
        const why = decision.outcome === 'timed_out' ? `⏱️ No answer within ${seconds} s: not run.` : '⏹️ The run stopped before an answer: not run.';
        await posted?.edit(requestText(starterId, request, why)).catch(onError);
      }
      return decision;
    };
  }

  /** A request decided in another process (src/queue): the run waiting on it here reads the decision and goes on. */
  async decided(token: string): Promise<void> {
    const waiting = this.waiting.get(token);
    if (waiting === undefined) return;
    const stored = await this.options.store?.byToken(token);
    if (stored?.decision != null) waiting.decide(stored.decision);
  }

  /**
   * A press on Approve or Deny: only the run's starter may decide. The first press decides at
   * once (a second one finds nothing waiting), then the message is edited to say so. A press on a
   * request whose run is not waiting yet (just after a restart) is kept for it.
   */
  async press(interaction: ButtonInteraction, token: string, approve: boolean): Promise<void> {
    const waiting = this.waiting.get(token);
    const decision: ApprovalDecision = { outcome: approve ? 'approved' : 'denied', by: interaction.user.username };
    let later = false;
    if (waiting === undefined) {
      const stored = await this.options.store?.byToken(token).catch((error: unknown) => {
        this.options.log?.warn({ err: error }, 'could not look up an approval request');
        return undefined;
      });
      if (stored === undefined || stored.decision !== null || stored.deadline < Date.now()) {
        await interaction.reply({ content: 'This request is no longer waiting for an answer.', flags: MessageFlags.Ephemeral });
        return;
      }
      if (interaction.user.id !== stored.starterId) {
        await interaction.reply({ content: `Only <@${stored.starterId}>, who started this run, can approve its tool calls.`, flags: MessageFlags.Ephemeral });
        return;
      }
      if (!(await this.options.store?.decide(stored.key, decision))) {
        await interaction.reply({ content: 'This request is no longer waiting for an answer.', flags: MessageFlags.Ephemeral });
        return;
      }
      // The run may have got back to it meanwhile.
      this.waiting.get(token)?.decide(decision);
      const { decidedElsewhere } = this.options;
      if (decidedElsewhere === undefined) later = true;
      else {
        await decidedElsewhere(token).catch((error: unknown) => {
          // Not lost: the worker finds the decision in the store when it looks again (after a restart at the latest).
          this.options.log?.warn({ err: error }, 'could not pass an approval on to the worker running its run');
        });
      }
    } else {
      if (interaction.user.id !== waiting.starterId) {
        await interaction.reply({ content: `Only <@${waiting.starterId}>, who started this run, can approve its tool calls.`, flags: MessageFlags.Ephemeral });
        return;
      }
      waiting.decide(decision);
    }
    const by = `<@${interaction.user.id}>`;
    const verdict = approve ? `✅ Approved by ${by}.` : `❌ Denied by ${by}: not run.`;
    const original = interaction.message.content.split('\n').slice(0, -1).join('\n');
    const resuming = later ? ' The run goes on from here as Cairn resumes it.' : '';
    await interaction.update({ content: clip(`${original}\n${verdict}${resuming}`, 2_000), components: [], allowedMentions: { parse: [] } });
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
