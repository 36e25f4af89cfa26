/**
 * Interaction lifecycles: the acknowledgement deadline, one callback only, and the interaction
 * token's lifetime for @original edits and follow-ups — with Discord's error codes.
 */
import { z } from 'zod';
import {
  alreadyAcknowledged,
  invalidForm,
  invalidWebhookToken,
  unknownInteraction,
  unknownMessage,
  unknownWebhook,
} from './errors.js';
import { checkAutocompleteResult } from './autocomplete.js';
import type { UploadedFile } from './http.js';
import type { Messages } from './messages.js';
import {
  checkMessage,
  checkModal,
  editedFlags,
  FLAG_EPHEMERAL,
  FLAG_LOADING,
  parseMessageBody,
  parseOrInvalidForm,
  requestedFlags,
} from './rules.js';
import type { FakeInteraction, FakeMessage, InteractionCallbackRecord } from './types.js';
import type { StoredMessage, World } from './world.js';

export interface InteractionRecord {
  id: string;
  token: string;
  /** 2 application command, 3 message component, 4 autocomplete, 5 modal submit. */
  type: 2 | 3 | 4 | 5;
  createdAt: number;
  channelId: string;
  userId: string;
  /** The message a component (or a modal opened from one) is attached to. */
  sourceMessageId?: string;
  callbacks: InteractionCallbackRecord[];
  originalId?: string;
  /** Deferred with type 5 and not answered yet: the first follow-up replaces the loading message. */
  loading: boolean;
  followUpIds: string[];
  ephemeral: boolean;
  modal?: unknown;
  listeners: Set<() => void>;
}

const CallbackSchema = z.looseObject({ type: z.number().int(), data: z.unknown().optional() });
const DeferSchema = z.looseObject({ flags: z.number().int().optional() }).optional();
const ACK_TYPES = new Set([4, 5, 6, 7, 8, 9]);

export interface InteractionTimes {
  ackDeadlineMs: number;
  tokenTtlMs: number;
}

export class Interactions {
  readonly #byId = new Map<string, InteractionRecord>();
  readonly #byToken = new Map<string, InteractionRecord>();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly world: World,
    private readonly messages: Messages,
    private readonly times: InteractionTimes,
  ) {}

  add(record: InteractionRecord): void {
    this.#byId.set(record.id, record);
    this.#byToken.set(record.token, record);
  }

  /**
   * The most recent modal with this custom_id that the bot opened for `userId` (a modal is shown
   * only to the user whose interaction it answered), and the interaction that opened it.
   */
  shownModal(customId: string, userId: string): { modal: { components: unknown[] }; openedBy: InteractionRecord } | undefined {
    const records = [...this.#byId.values()].reverse();
    for (const record of records) {
      const modal = z.looseObject({ custom_id: z.string(), components: z.array(z.unknown()) }).safeParse(record.modal);
      if (modal.success && modal.data.custom_id === customId && record.userId === userId) return { modal: modal.data, openedBy: record };
    }
    return undefined;
  }

  /** POST /interactions/:id/:token/callback. Returns the message the callback created or edited. */
  callback(id: string, token: string, rawBody: unknown, files: UploadedFile[]): { record: InteractionRecord; message?: StoredMessage } {
    const record = this.#byId.get(id);
    if (record?.token !== token) throw unknownInteraction();
    if (record.callbacks.length > 0) throw alreadyAcknowledged();
    if (Date.now() - record.createdAt > this.times.ackDeadlineMs) throw unknownInteraction();
    const { type, data } = parseOrInvalidForm(CallbackSchema, rawBody);
    const message = this.#respond(record, type, data, files);
    record.callbacks.push({ type, at: Date.now(), ...(data === undefined ? {} : { data }) });
    for (const listener of record.listeners) listener();
    return message ? { record, message } : { record };
  }

  #respond(record: InteractionRecord, type: number, data: unknown, files: UploadedFile[]): StoredMessage | undefined {
    const invalidType = (): never => {
      throw invalidForm([{ path: 'type', code: 'INTERACTION_RESPONSE_TYPE_INVALID', message: 'Invalid interaction response type' }]);
    };
    if (!ACK_TYPES.has(type)) invalidType();
    // An autocomplete interaction takes only its result (8), and only it may send one.
    if ((record.type === 4) !== (type === 8)) invalidType();
    if (type === 8) {
      checkAutocompleteResult(data);
      return undefined;
    }
    if ((type === 6 || type === 7) && record.sourceMessageId === undefined) invalidType();
    if (type === 9 && record.type === 5) invalidType();
    if (type === 9) {
      checkModal(data);
      record.modal = data;
      return undefined;
    }
    if (type === 6 || type === 7) {
      const source = this.#message(record.sourceMessageId);
      record.originalId = source.id;
      if (type === 7) this.#edit(record, source, data, files);
      return source;
    }
    const interaction = { id: record.id, type: record.type, userId: record.userId };
    const common = { channelId: record.channelId, authorId: this.world.bot.id, webhookId: this.world.applicationId, interaction };
    const messageType = record.type === 2 ? 20 : 19;
    if (type === 5) {
      const flags = (parseOrInvalidForm(DeferSchema, data)?.flags ?? 0) & FLAG_EPHEMERAL;
      const message = this.messages.create({ ...common, content: '', embeds: [], components: [], flags: flags | FLAG_LOADING, type: messageType });
      Object.assign(record, { originalId: message.id, loading: true, ephemeral: flags !== 0 });
      return message;
    }
    const body = parseMessageBody(data);
    const checked = checkMessage(body, files.length, requestedFlags(body));
    const message = this.messages.create({ ...common, ...checked, files, type: messageType });
    Object.assign(record, { originalId: message.id, ephemeral: (checked.flags & FLAG_EPHEMERAL) !== 0 });
    return message;
  }

  /** The interaction behind a webhook token, if the token is still valid and acknowledged. */
  webhook(applicationId: string, token: string): InteractionRecord {
    if (applicationId !== this.world.applicationId) throw unknownWebhook();
    const record = this.#byToken.get(token);
    if (!record || Date.now() - record.createdAt > this.times.tokenTtlMs) throw invalidWebhookToken();
    // An autocomplete's token answers once; it has no messages to edit or follow up.
    if (record.callbacks.length === 0 || record.type === 4) throw unknownWebhook();
    return record;
  }

  /** `@original` or a follow-up id of this interaction. */
  webhookMessage(record: InteractionRecord, messageId: string): StoredMessage {
    const id = messageId === '@original' ? record.originalId : messageId;
    if (id === undefined || (id !== record.originalId && !record.followUpIds.includes(id))) throw unknownMessage();
    return this.#message(id);
  }

  editWebhookMessage(record: InteractionRecord, message: StoredMessage, body: unknown, files: UploadedFile[]): void {
    this.#edit(record, message, body, files);
  }

  followUp(record: InteractionRecord, rawBody: unknown, files: UploadedFile[]): StoredMessage {
    const body = parseMessageBody(rawBody);
    const original = record.originalId === undefined ? undefined : this.world.messages.get(record.originalId);
    if (record.loading && original && !original.deleted) {
      // Discord: after a defer, the first follow-up becomes the deferred reply and keeps its
      // ephemerality, whatever flags the follow-up asked for.
      const flags = (original.flags & FLAG_EPHEMERAL) | (requestedFlags(body) & ~FLAG_EPHEMERAL);
      const checked = checkMessage(body, files.length, flags);
      this.messages.edit(original, checked, files);
      record.loading = false;
      record.followUpIds.push(original.id);
      return original;
    }
    const checked = checkMessage(body, files.length, requestedFlags(body));
    const message = this.messages.create({
      ...checked,
      channelId: record.channelId,
      authorId: this.world.bot.id,
      webhookId: this.world.applicationId,
      interaction: { id: record.id, type: record.type, userId: record.userId },
      files,
    });
    record.followUpIds.push(message.id);
    return message;
  }

  handle(record: InteractionRecord): FakeInteraction {
    const snapshot = (id: string | undefined): FakeMessage | undefined => {
      const message = id === undefined ? undefined : this.world.messages.get(id);
      return message ? this.messages.snapshot(message) : undefined;
    };
    return {
      id: record.id,
      token: record.token,
      callbacks: record.callbacks,
      acknowledged: () => this.#acknowledged(record),
      original: () => snapshot(record.originalId),
      followUps: () => record.followUpIds.flatMap((id) => snapshot(id) ?? []),
      modal: () => record.modal,
      ephemeral: () => record.ephemeral,
    };
  }

  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #acknowledged(record: InteractionRecord): Promise<InteractionCallbackRecord> {
    const deadline = this.times.ackDeadlineMs;
    const failure = (): Error =>
      new Error(`interaction ${record.id} was not acknowledged within ${deadline} ms (Discord shows "This interaction failed")`);
    const first = record.callbacks[0];
    if (first) return Promise.resolve(first);
    // A little grace so a callback accepted right at the deadline is not reported as missed.
    const remaining = record.createdAt + deadline + 20 - Date.now();
    if (remaining <= 0) return Promise.reject(failure());
    return new Promise((resolve, reject) => {
      const listener = (): void => {
        const callback = record.callbacks[0];
        if (!callback) return;
        clearTimeout(timer);
        this.#timers.delete(timer);
        record.listeners.delete(listener);
        resolve(callback);
      };
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        record.listeners.delete(listener);
        const callback = record.callbacks[0];
        if (callback) resolve(callback);
        else reject(failure());
      }, remaining);
      this.#timers.add(timer);
      record.listeners.add(listener);
    });
  }

  #message(id: string | undefined): StoredMessage {
    const message = id === undefined ? undefined : this.world.messages.get(id);
    if (!message || message.deleted) throw unknownMessage();
    return message;
  }

  #edit(record: InteractionRecord, message: StoredMessage, rawBody: unknown, files: UploadedFile[]): void {
    const body = parseMessageBody(rawBody);
    const flags = editedFlags(message.flags, body);
    const checked = checkMessage(body, files.length, flags, { ...message, attachments: message.attachments.length });
    const keep = body.attachments?.map((a) => String(a.id));
    this.messages.edit(message, checked, files, keep);
    if (message.id === record.originalId) record.loading = false;
  }
}
