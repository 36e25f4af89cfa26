import { z } from 'zod';
import type { Memory } from '../memory/memory.js';
import type { QueryRewriter } from '../memory/query/rewrite.js';
import { readableScopes, type RunScope, type Visibility } from '../memory/types.js';
import { WorkingMemoryError } from '../memory/working.js';
import { defineTool } from './define.js';
import type { Tool, ToolContext } from './types.js';

function scopeOf(context: ToolContext): RunScope {
  if (context.scope === undefined) throw new Error('memory is not available in this run');
  return context.scope;
}

const DAY_MS = 86_400_000;
/**
 * The highest importance a model may give a memory. Eviction keeps important memories longest, so
 * a model steered by a prompt could otherwise mark a flood of saves as untouchable; lessons (0.8)
 * and what people pin stay above what a run can claim.
 */
export const MAX_SAVED_IMPORTANCE = 0.7;
/** Saves per run: a run that keeps saving is flooding memory, not keeping facts. */
export const MAX_SAVES_PER_RUN = 25;

const ownerField = z
  .enum(['user', 'channel'])
  .optional()
  .describe('Whose block: "user" (private to the person you work for) or "channel" (shared here). Default: "user" for "user profile", "channel" for "channel notes".');

/** The block a call reads (`write` false) or changes. A private run may read channel blocks but never write them. */
function blockKey(context: ToolContext, label: string, owner: 'user' | 'channel' | undefined, write: boolean): string {
  const scope = scopeOf(context);
  const whose = owner ?? (label === 'channel notes' ? 'channel' : 'user');
  if (whose === 'channel') {
    if (scope.channelId === undefined) throw new WorkingMemoryError('There is no channel in this run; use owner "user".');
    if (write && context.visibility === 'private') {
      throw new WorkingMemoryError('This is a private run: nothing from it may be written where others can read it. Keep it in a block with owner "user" instead.');
    }
    return `channel:${scope.channelId}`;
  }
  return `user:${scope.userId}`;
}

/** What `memory_save` may store: private runs keep everything private; elsewhere the model's choice or the channel. */
function saveVisibility(context: ToolContext, asked: 'private' | 'channel' | 'server' | undefined): Visibility {
  const scope = scopeOf(context);
  if (context.visibility === 'private') return 'private';
  if (asked === 'server') return scope.guildId === undefined ? 'private' : 'guild';
  if (asked === 'channel') return scope.channelId === undefined ? 'private' : 'channel';
  return asked ?? (scope.channelId === undefined ? 'private' : 'channel');
}

const VISIBILITY_WORD: Record<Visibility, string> = { private: 'private', channel: 'channel', guild: 'server' };

function describeBlock(block: { label: string; text: string; charLimit: number }): string {
  return `[${block.label} · ${block.text.length}/${block.charLimit} characters]\n${block.text === '' ? '(empty)' : block.text}`;
}

/**
 * The agent's memory tools: search and save long-term memories, and edit working-memory blocks.
 * With a `rewriter` (CAIRN_RECALL_REWRITE=on), `memory_search` also searches the model's keyword
 * rewrites of the query: the run is calling the model anyway.
 */
export function memoryTools(memory: Memory, options: { rewriter?: QueryRewriter } = {}): Tool[] {
  // Saves counted per run id; the oldest runs' counts are dropped so the map stays small.
  const savesByRun = new Map<string, number>();
  const rememberSave = (runId: string, count: number) => {
    savesByRun.delete(runId);
    savesByRun.set(runId, count);
    if (savesByRun.size > 1_000) savesByRun.delete(savesByRun.keys().next().value ?? '');
  };
  return [
    defineTool({
      name: 'memory_search',
      description:
        'Search long-term memory (facts, notes, lessons, reports and past conversation turns) by meaning and keywords. Returns the best matches with ids and dates.',
      input: z.strictObject({
        query: z.string().min(1).max(500).describe('What to look for, in words.'),
        kind: z.enum(['turn', 'fact', 'note', 'lesson', 'report']).optional().describe('Only this kind of memory.'),
        limit: z.number().int().min(1).max(20).optional().describe('How many results (default 8).'),
      }),
      risk: 'low',
      idempotent: true,
      run: async ({ query, kind, limit }, context) => {
        const hits = await memory.semantic.recall(
          {
            query,
            scopes: readableScopes(scopeOf(context)),
            limit: limit ?? 8,
            ...(kind === undefined ? {} : { kinds: [kind] }),
            // The rewrite is a model call: only when the run lets tools make one, and charged to it.
            ...(options.rewriter === undefined || context.modelSpend === undefined ? {} : { rewriter: options.rewriter, spend: context.modelSpend }),
          },
          context.signal,
        );
        if (hits.length === 0) return 'No memories match.';
        return hits
          .map(({ memory: m, explanation: e }) => {
            const who = m.speaker === null ? '' : ` · ${m.speaker}`;
            const why = [e.textRank === null ? null : 'keywords', e.similarity === null ? null : `similarity ${e.similarity.toFixed(2)}`].filter(Boolean).join(', ');
            const text = m.text.length > 600 ? `${m.text.slice(0, 600)}…` : m.text;
            return `- ${m.id} (${m.kind}${who} · ${new Date(m.createdAt).toISOString().slice(0, 10)} · ${why}): ${text}`;
          })
          .join('\n');
      },
    }),
    defineTool({
      name: 'memory_save',
      description:
        'Save a fact or note to long-term memory so later runs can recall it. Save durable, specific information (preferences, decisions, names, dates), one fact per call.',
      input: z.strictObject({
        text: z.string().min(1).max(2_000).describe('The fact or note, self-contained (it will be read without this conversation).'),
        kind: z.enum(['fact', 'note']).optional().describe('"fact" (default) or "note".'),
        visibility: z
          .enum(['private', 'channel', 'server'])
          .optional()
          .describe('Who may recall it: "private" (only this user), "channel" (anyone here), "server". Default: channel when in a channel, else private. Personal information is private. In a private run everything saved is private.'),
        ttl_days: z.number().positive().max(3_650).optional().describe('Forget it after this many days (default: keep).'),
        importance: z.number().min(0).max(1).optional().describe(`0–1, default 0.5; important memories are kept longest. At most ${MAX_SAVED_IMPORTANCE} is stored.`),
      }),
      risk: 'low',
      run: async (args, context) => {
        const scope = scopeOf(context);
        const used = savesByRun.get(context.runId) ?? 0;
        if (used >= MAX_SAVES_PER_RUN) {
          throw new Error(`This run has already saved ${MAX_SAVES_PER_RUN} memories, the most one run may save. Keep only what matters: update working memory instead, or finish.`);
        }
        rememberSave(context.runId, used + 1);
        const visibility = saveVisibility(context, args.visibility);
        const saved = await memory.semantic.save({
          text: args.text,
          kind: args.kind ?? 'fact',
          scope,
          visibility,
          sourceRunId: context.runId,
          ...(args.ttl_days === undefined ? {} : { ttlMs: args.ttl_days * DAY_MS }),
          ...(args.importance === undefined ? {} : { importance: Math.min(args.importance, MAX_SAVED_IMPORTANCE) }),
        });
        const where = VISIBILITY_WORD[visibility];
        const note = args.visibility !== undefined && args.visibility !== where ? ` (${context.visibility === 'private' ? 'this is a private run, so it stays private' : `there is no ${args.visibility} here`})` : '';
        return saved.created ? `Saved as ${saved.id} (${where}${note}).` : `Already remembered as ${saved.id}; nothing new saved.`;
      },
    }),
    defineTool({
      name: 'working_memory_view',
      description: 'Show a working-memory block in full (blocks are also shown at the start of every run).',
      input: z.strictObject({ block: z.string().min(1).max(40).describe('Block label, e.g. "user profile" or "channel notes".'), owner: ownerField }),
      risk: 'low',
      idempotent: true,
      run: async ({ block, owner }, context) => describeBlock(await memory.working.view(blockKey(context, block, owner, false), block)),
    }),
    defineTool({
      name: 'working_memory_append',
      description: 'Add a line to a working-memory block (always shown to you in later runs). Keep blocks short: each has a character limit.',
      input: z.strictObject({ block: z.string().min(1).max(40), text: z.string().min(1).max(2_000), owner: ownerField }),
      risk: 'low',
      run: async ({ block, text, owner }, context) =>
        describeBlock(await memory.working.append(blockKey(context, block, owner, true), block, text)),
    }),
    defineTool({
      name: 'working_memory_replace',
      description: 'Replace text in a working-memory block. old_text must occur exactly once in the block; an empty new_text deletes it.',
      input: z.strictObject({ block: z.string().min(1).max(40), old_text: z.string().min(1), new_text: z.string(), owner: ownerField }),
      risk: 'low',
      run: async ({ block, old_text, new_text, owner }, context) =>
        describeBlock(await memory.working.replace(blockKey(context, block, owner, true), block, old_text, new_text)),
    }),
  ];
}
