/**
 * Assembles a streamed Chat Completions reply: text and reasoning deltas are concatenated,
 * tool-call fragments are joined by their `index` and told apart by `id`, and the trailing usage
 * chunk is kept. Text passed on as it arrives goes through a ReasoningSplitter first, so `<think>`
 * text in content never reaches the caller's onTextDelta (the whole content is split again in
 * finishReply).
 */
import { z } from 'zod';
import { ReasoningSplitter, type SplitterOptions } from './reasoning.js';
import type { ToolCall } from './types.js';
import { describeIssues, fallbackToolCallId, reasoningField, WIRE_TEXT_FIELDS, WireArguments, WireUsage, type AssembledReply } from './wire.js';

const WireChunk = z.looseObject({
  model: z.string().nullish(),
  // Required (possibly empty, as in the final usage chunk) so that non-chunks are caught.
  choices: z.array(
    z.looseObject({
      index: z.number().nullish(),
      finish_reason: z.string().nullish(),
      delta: z
        .looseObject({
          ...WIRE_TEXT_FIELDS,
          tool_calls: z
            .array(
              z.looseObject({
                index: z.number().int().nonnegative().nullish(),
                id: z.string().nullish(),
                function: z.looseObject({ name: z.string().nullish(), arguments: WireArguments }).nullish(),
              }),
            )
            .nullish(),
        })
        .nullish(),
    }),
  ),
  usage: WireUsage.nullish(),
});
export type WireChunk = z.infer<typeof WireChunk>;

export function parseChunk(value: unknown): { ok: true; chunk: WireChunk } | { ok: false; issue: string } {
  const parsed = WireChunk.safeParse(value);
  return parsed.success
    ? { ok: true, chunk: parsed.data }
    : { ok: false, issue: `a streamed chunk is invalid (${describeIssues(parsed.error)})` };
}

interface PartialCall {
  index: number | undefined;
  id: string | undefined;
  name: string;
  arguments: string;
}

export class StreamAccumulator {
  private content = '';
  private reasoning = '';
  private readonly calls: PartialCall[] = [];
  private finishReason: string | undefined;
  private model: string | undefined;
  private usage: AssembledReply['usage'];
  private readonly splitter: ReasoningSplitter;
  private shown = false;

  /** `opened`: this model's template opens `<think>` itself (see ReasoningSplitter). */
  constructor(options: SplitterOptions = {}) {
    this.splitter = new ReasoningSplitter(options);
  }

  /** Adds one chunk; returns the new answer text to show the user (empty when there is none). */
  add(chunk: WireChunk): string {
    if (chunk.model) this.model = chunk.model;
    if (chunk.usage) this.usage = chunk.usage;
    let text = '';
    for (const choice of chunk.choices) {
      // We never ask for n > 1; other choices would interleave with the first.
      if ((choice.index ?? 0) !== 0) continue;
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
      const delta = choice.delta;
      if (!delta) continue;
      if (delta.content) text += delta.content;
      // One field per delta: servers moving from one name to the other sent both (vLLM, notes §3).
      const thought = reasoningField(delta);
      if (thought) this.reasoning += thought;
      for (const fragment of delta.tool_calls ?? []) this.addToolFragment(fragment);
    }
    this.content += text;
    return this.show(this.splitter.push(text).text);
  }

  /** At the end of a complete stream: answer text held back in case it began a tag. */
  flushText(): string {
    return this.show(this.splitter.end().text);
  }

  /** True when the reply began inside a `<think>` block its template opened (a lone `</think>`). */
  get openedByTemplate(): boolean {
    return this.splitter.openedByTemplate;
  }

  private show(text: string): string {
    if (text !== '') this.shown = true;
    return text;
  }

  private addToolFragment(fragment: NonNullable<NonNullable<WireChunk['choices'][number]['delta']>['tool_calls']>[number]): void {
    const index = fragment.index ?? undefined;
    const id = fragment.id || undefined;
    let call: PartialCall | undefined;
    if (index !== undefined) {
      // The latest call at this index, unless the fragment names another id: Ollama streams each
      // parallel call whole, every one at index 0 (notes §2: ollama#15457; #15497 still open).
      call = this.calls.findLast((c) => c.index === index);
      if (call?.id !== undefined && id !== undefined && call.id !== id) call = undefined;
    } else {
      // Without an index (Ollama before v0.4.7, ollama#7881), a new id starts a call; otherwise continue the last.
      const last = this.calls.at(-1);
      call = id !== undefined && last?.id !== id ? undefined : last;
    }
    if (!call) {
      call = { index, id, name: '', arguments: '' };
      this.calls.push(call);
    }
    if (id) call.id = id;
    // The name comes whole in the first fragment; some servers repeat it in later ones.
    if (fragment.function?.name && !call.name) call.name = fragment.function.name;
    call.arguments += fragment.function?.arguments ?? '';
  }

  /** True once a finish_reason arrived; a stream that ends without one was cut off. */
  get finished(): boolean {
    return this.finishReason !== undefined;
  }

  /** True once any text was passed on; such a stream must not be retried (reasoning alone may be). */
  get deliveredText(): boolean {
    return this.shown;
  }

  reply(): AssembledReply {
    const toolCalls: ToolCall[] = [...this.calls]
      .sort((a, b) => (a.index ?? 0) - (b.index ?? 0))
      .map((c) => ({ id: c.id ?? fallbackToolCallId(), name: c.name, arguments: c.arguments }));
    return {
      content: this.content,
      reasoning: this.reasoning || undefined,
      toolCalls,
      finishReason: this.finishReason,
      model: this.model,
      usage: this.usage,
    };
  }
}
