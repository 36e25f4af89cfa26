/**
 * Conversations as a service for surfaces: find or start one, give a run its history (the turns
 * the person may see, condensed to the model's window) and its briefing, record the turns once the
 * answer is out, and start afresh from a summary when one is full.
 */
import type { ChatMessage } from '../llm/types.js';
import { conversationBriefing } from './briefing.js';
import { buildHistory, type HistoryTurn } from './history.js';
import type { ConversationStore, NewConversation } from './store.js';
import { summarizeTurns } from './summary.js';
import { CAIRN_AUTHOR, type Conversation, type NewTurn, type Turn } from './types.js';

export interface ConversationLimits {
  /** Turns one conversation keeps (CAIRN_CONVERSATION_MAX_TURNS); past it, it continues from a summary. */
  maxTurns: number;
  /** The most tokens of earlier turns a prompt carries (CAIRN_CONVERSATION_TOKENS). */
  historyTokens: number;
  /** The share of the model's window earlier turns may take, on windows too small for historyTokens. */
  windowShare: number;
}

export const DEFAULT_CONVERSATION_LIMITS: ConversationLimits = { maxTurns: 200, historyTokens: 6_000, windowShare: 0.25 };

/** The person a run answers. */
export interface Speaker {
  id: string;
  name: string;
}

/** What a run continuing a conversation is given. */
export interface RunConversation {
  /** For RunRequest.history: earlier turns, oldest first. */
  history: ChatMessage[];
  /** For RunRequest.historyFromOthers: which of them hold other people's words. */
  historyFromOthers: number[];
  /** For the run's instructions; null when there is no earlier turn. */
  briefing: string | null;
  /** Turns the person could see (before condensing). */
  turns: number;
}

/** The earlier turns `viewer` may see: shared ones, and private ones only their owner's. */
export function visibleTo(turns: readonly Turn[], viewerId: string): Turn[] {
  return turns.filter((t) => t.visibility === 'channel' || t.ownerId === viewerId);
}

export class Conversations {
  /** Answers being posted and stored, and those of each conversation: lookups wait for them. */
  private readonly writing = new Set<Promise<unknown>>();
  private readonly writingTo = new Map<string, Set<Promise<unknown>>>();

  constructor(
    readonly store: ConversationStore,
    /** The model's context window in tokens (FitWindowModel.contextWindow). */
    private readonly windowTokens: () => Promise<number>,
    readonly limits: ConversationLimits = DEFAULT_CONVERSATION_LIMITS,
  ) {}

  /** Tokens of earlier turns a prompt may carry: the configured amount, less on small windows. */
  async historyBudget(): Promise<number> {
    const window = await this.windowTokens();
    return Math.max(128, Math.min(this.limits.historyTokens, Math.floor(window * this.limits.windowShare)));
  }

  /**
   * The conversation the first linked key leads to, once the answers being posted to it are stored.
   * With `settled`, a miss waits for every answer being posted and looks again: a reply can arrive
   * before the answer it replies to is stored (Discord delivers the answer to everyone as the bot
   * learns its id).
   */
  async find(keys: readonly string[], options: { settled?: boolean } = {}): Promise<Conversation | undefined> {
    let found = await this.store.find(keys);
    // Looked again even when nothing is being written now: it may have landed during the first look.
    if (found === undefined && options.settled === true) {
      await Promise.allSettled([...this.writing]);
      found = await this.store.find(keys);
    }
    const pending = found === undefined ? undefined : this.writingTo.get(found.id);
    if (found === undefined || pending === undefined) return found;
    await Promise.allSettled([...pending]);
    return (await this.store.get(found.id)) ?? found;
  }

  start(input: NewConversation, keys: readonly string[]): Promise<Conversation> {
    return this.store.create(input, keys);
  }

  /** True when this exchange (a person's turn and the answer) would go past the turns kept. */
  isFull(conversation: Conversation): boolean {
    return conversation.turns + 2 > this.limits.maxTurns;
  }

  /** The history and briefing of a run answering `speaker` in this conversation. */
  async forRun(conversation: Conversation, speaker: Speaker): Promise<RunConversation> {
    const turns = visibleTo(await this.store.turns(conversation.id), speaker.id);
    return this.fromTurns(conversation.kind, turns, speaker, conversation.visibility === 'channel');
  }

  /** The history a retry of `runId` sees: the conversation as it was before that run's turns. */
  async beforeRun(conversation: Conversation, speaker: Speaker, runId: string): Promise<RunConversation> {
    const turns = visibleTo(await this.store.turns(conversation.id), speaker.id);
    const at = turns.findIndex((t) => t.runId === runId);
    return this.fromTurns(conversation.kind, at === -1 ? turns : turns.slice(0, at), speaker, conversation.visibility === 'channel');
  }

  /** The same from turns held elsewhere (`cairn chat` keeps its own); `open`: others read the conversation. */
  async fromTurns(kind: Conversation['kind'], turns: readonly HistoryTurn[], speaker: Speaker, open = false): Promise<RunConversation> {
    if (turns.length === 0) return { history: [], historyFromOthers: [], briefing: null, turns: 0 };
    const built = buildHistory(turns, { viewerId: speaker.id, budgetTokens: await this.historyBudget() });
    const others = [...new Set(turns.filter((t) => t.role === 'user' && t.authorId !== speaker.id).map((t) => t.authorName))];
    const briefing = conversationBriefing({
      kind,
      turns: turns.length,
      condensed: built.condensed,
      omitted: built.omitted,
      shared: built.shared,
      viewerName: speaker.name,
      others,
      public: open,
    });
    return { history: built.messages, historyFromOthers: built.fromOthers, briefing, turns: turns.length };
  }

  /** Stores the exchange and links `keys` (message ids are linked with their turns). */
  record(conversation: Conversation, turns: readonly NewTurn[], keys: readonly string[] = []): Promise<Conversation> {
    return this.store.append(conversation, turns, keys);
  }

  /** Marks `write` (posting an answer, then recording it, in `conversationId` when known) as under way until it settles. */
  during<T>(conversationId: string | null, write: Promise<T>): Promise<T> {
    this.writing.add(write);
    const mine = conversationId === null ? undefined : (this.writingTo.get(conversationId) ?? new Set<Promise<unknown>>());
    if (conversationId !== null && mine !== undefined) {
      mine.add(write);
      this.writingTo.set(conversationId, mine);
    }
    void write
      .finally(() => {
        this.writing.delete(write);
        mine?.delete(write);
        if (conversationId !== null && mine?.size === 0) this.writingTo.delete(conversationId);
      })
      .catch(() => undefined);
    return write;
  }

  /**
   * A full conversation's successor: a new conversation, reached by `keys` (the place's keys move
   * to it), whose first turn is a summary of the old one. Returns the summary to show.
   */
  async continueFromSummary(full: Conversation, keys: readonly string[], at: number): Promise<{ next: Conversation; summary: string }> {
    const summary = summarizeTurns(await this.store.turns(full.id));
    const started = await this.store.create(
      { kind: full.kind, visibility: full.visibility, ownerId: full.ownerId, guildId: full.guildId, channelId: full.channelId },
      keys,
    );
    const next = await this.store.append(started, [
      {
        role: 'assistant',
        authorId: CAIRN_AUTHOR,
        authorName: 'Cairn',
        text: `Summary of the earlier conversation, which reached ${this.limits.maxTurns} turns (the most kept):\n${summary}`,
        runId: null,
        messageIds: [],
        createdAt: at,
      },
    ]);
    return { next, summary };
  }
}
