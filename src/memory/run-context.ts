import { estimateTextTokens } from '../llm/tokens.js';
import type { RecallHit } from './types.js';
import type { WorkingBlock } from './working.js';

/** Renders what a run is told from memory, within a token budget: blocks, then lessons, then memories. */
export interface ContextParts {
  blocks: WorkingBlock[];
  lessons: RecallHit[];
  memories: RecallHit[];
  budgetTokens: number;
}

export interface RenderedContext {
  prompt: string;
  lessons: number;
  memories: number;
}

function whose(scopeKey: string): string {
  if (scopeKey.startsWith('user:')) return 'private to this user';
  if (scopeKey.startsWith('channel:')) return 'shared in this channel';
  return 'shared in this server';
}

function dateOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

function memoryLine(hit: RecallHit): string {
  const m = hit.memory;
  const who = m.speaker === null ? '' : ` · ${m.speaker}`;
  return `- (${m.kind}${who} · ${dateOf(m.createdAt)} · id ${m.id}) ${m.text.replace(/\s+/g, ' ').trim()}`;
}

export function renderRunContext(parts: ContextParts): RenderedContext {
  const out: string[] = [
    '# Memory',
    '## Working memory — always shown to you. Keep it current with working_memory_append and working_memory_replace.',
  ];
  for (const block of parts.blocks) {
    out.push(`[${block.label} — ${whose(block.scopeKey)} · ${block.text.length}/${block.charLimit} characters]`);
    out.push(block.text === '' ? '(empty)' : block.text);
  }
  let used = estimateTextTokens(out.join('\n').length);
  const take = (header: string, hits: RecallHit[]): number => {
    if (hits.length === 0) return 0;
    const lines: string[] = [];
    for (const hit of hits) {
      const line = memoryLine(hit);
      const cost = estimateTextTokens(line.length + 1);
      if (used + cost > parts.budgetTokens) break;
      used += cost;
      lines.push(line);
    }
    if (lines.length > 0) out.push(header, ...lines);
    return lines.length;
  };
  const lessons = take('## Lessons and approaches from feedback on earlier runs — follow them where they apply.', parts.lessons);
  const memories = take('## Memories that may be relevant — search for more with memory_search; save new facts with memory_save.', parts.memories);
  if (memories === 0) out.push('## Memories: nothing relevant recalled. Use memory_search to look, memory_save to keep a fact.');
  return { prompt: out.join('\n'), lessons, memories };
}
