/**
 * Splits a model's reasoning from its answer when the reasoning arrives inside `content`.
 *
 * Servers without a reasoning parser leave the model's thoughts in `content` as
 * `<think>…</think>` (Ollama without a thinking parser, vLLM without `--reasoning-parser`,
 * llama.cpp `--reasoning-format none`: /work/shared/notes/model-servers.md §3). Templates that
 * pre-fill `<think>\n` in the generation prompt (DeepSeek-R1's updated template, Qwen3.5-style
 * ones) make the model print only the closing tag (llama.cpp#11861, vllm#13125), so the notes'
 * client rule applies: a closing tag with no opening tag before it ends a reasoning block that
 * began at the start of the content. An opening tag that is never closed is reasoning to the
 * end: the model ran out of output tokens mid-thought.
 *
 * The same rules run incrementally for streams; the whole-text split is the streamed split of
 * one chunk, so both always agree. Work is linear in the input: at most one possible partial
 * tag (12 characters) is held back and scanned again.
 */

/** Tag names models use for their thoughts; matched case-insensitively, without attributes. */
const NAMES = ['think', 'thinking', 'reasoning'] as const;
const OPENERS: readonly string[] = NAMES.map((name) => `<${name}>`);
const CLOSERS: readonly string[] = NAMES.map((name) => `</${name}>`);
const LONGEST_TAG = Math.max(...CLOSERS.map((tag) => tag.length));

export interface ReasoningSplit {
  /** The reasoning found in the text (blocks joined by a blank line), or null when there was none. */
  reasoning: string | null;
  /** The answer: the text with every reasoning block removed (the text unchanged when it had none). */
  text: string;
}

/** What one `push` or `end` newly decided: answer text to pass on, and reasoning. */
export interface SplitPiece {
  text: string;
  reasoning: string;
}

export interface SplitterOptions {
  /**
   * The reply is known to start inside a reasoning block the template opened (an earlier reply
   * of this model had a lone closing tag): hold text back until the closing tag, so no thought
   * reaches the stream. Without a closing tag the held text is the answer after all.
   */
  opened?: boolean;
}

type State =
  /** Nothing but whitespace yet: an opening tag here starts a block. */
  | 'start'
  /** Answer text. */
  | 'text'
  /** Inside a block; `closer` ends it. */
  | 'reasoning'
  /** `opened`: text that is reasoning if a closing tag follows, else the answer. */
  | 'held'
  /** Just after a closing tag: whitespace separating the block from the answer is dropped. */
  | 'gap';

function matchesAt(s: string, i: number, tag: string): boolean {
  return s.length - i >= tag.length && s.slice(i, i + tag.length).toLowerCase() === tag;
}

/** The rest of `s` from `i` could still become one of `tags` once more text arrives. */
function partialAt(s: string, i: number, tags: readonly string[]): boolean {
  if (s.length - i >= LONGEST_TAG) return false;
  const rest = s.slice(i).toLowerCase();
  return tags.some((tag) => rest.length < tag.length && tag.startsWith(rest));
}

/** The first full match of one of `tags`, or (unless `final`) where a possible partial one starts at the end. */
function findTag(s: string, tags: readonly string[], final: boolean): { at: number; tag: string | null } | null {
  for (let i = s.indexOf('<'); i !== -1; i = s.indexOf('<', i + 1)) {
    const tag = tags.find((t) => matchesAt(s, i, t));
    if (tag !== undefined) return { at: i, tag };
    if (!final && partialAt(s, i, tags)) return { at: i, tag: null };
  }
  return null;
}

/** Splits a stream of content deltas into answer text and reasoning as they arrive. */
export class ReasoningSplitter {
  private state: State;
  /** Input not yet decided (at most a possible partial tag, except at the start). */
  private pending = '';
  private closer = '';
  private held = '';
  /** 'start': leading whitespace seen so far. */
  private lead = '';
  private textSoFar = '';
  private reasoningSoFar = '';
  /** Whether any tag was seen; a closing tag is "lone" only before any other tag. */
  private sawTag = false;
  private passedOn = false;
  /** The reply began inside a block the template opened (a lone closing tag was seen). */
  openedByTemplate = false;
  /** Text already returned by `push` turned out to be reasoning (a lone closing tag came after it). */
  retracted = false;

  constructor(private readonly options: SplitterOptions = {}) {
    this.state = 'start';
  }

  push(chunk: string): SplitPiece {
    this.pending += chunk;
    return this.drain(false);
  }

  /** The end of the content: whatever was held back is decided now. */
  end(): SplitPiece {
    return this.drain(true);
  }

  /** Everything split so far (after `end`, the whole content). */
  result(): ReasoningSplit {
    if (!this.sawTag) return { reasoning: null, text: this.textSoFar };
    const reasoning = this.reasoningSoFar.trim();
    return { reasoning: reasoning === '' ? null : reasoning, text: this.textSoFar.trim() };
  }

  private drain(final: boolean): SplitPiece {
    const out: SplitPiece = { text: '', reasoning: '' };
    while (this.step(final, out));
    if (out.text !== '') this.passedOn = true;
    return out;
  }

  /** Advances by one decision; false when it must wait for more input (or input is used up). */
  private step(final: boolean, out: SplitPiece): boolean {
    switch (this.state) {
      case 'start':
        return this.fromStart(final, out);
      case 'text':
        return this.inText(final, out);
      case 'reasoning':
        return this.inBlock(final, out);
      case 'held':
        return this.inHeld(final, out);
      case 'gap': {
        const rest = this.pending.trimStart();
        this.pending = rest;
        if (rest === '') return false;
        this.state = 'text';
        return true;
      }
    }
  }

  private fromStart(final: boolean, out: SplitPiece): boolean {
    // Leading whitespace is set aside (each chunk is scanned once): dropped before a tag, kept before text.
    const rest = this.pending.trimStart();
    this.lead += this.pending.slice(0, this.pending.length - rest.length);
    this.pending = rest;
    if (rest === '') {
      if (final) {
        this.emitText(this.lead, out);
        this.lead = '';
      }
      return false;
    }
    const opener = OPENERS.find((t) => matchesAt(rest, 0, t));
    if (opener !== undefined) {
      this.pending = rest.slice(opener.length);
      this.lead = '';
      this.openBlock(opener);
      return true;
    }
    if (!final && partialAt(rest, 0, OPENERS)) return false;
    this.pending = this.lead + rest;
    this.lead = '';
    this.state = this.options.opened === true ? 'held' : 'text';
    return true;
  }

  private inText(final: boolean, out: SplitPiece): boolean {
    const found = findTag(this.pending, this.sawTag ? OPENERS : [...OPENERS, ...CLOSERS], final);
    if (found === null) {
      this.emitText(this.take(this.pending.length), out);
      return false;
    }
    if (found.tag === null) {
      this.emitText(this.take(found.at), out);
      return false;
    }
    if (OPENERS.includes(found.tag)) {
      this.emitText(this.take(found.at), out);
      this.pending = this.pending.slice(found.tag.length);
      this.openBlock(found.tag);
      return true;
    }
    // A lone closing tag: everything before it was a block the template opened.
    if (this.passedOn) this.retracted = true;
    this.addReasoning(this.textSoFar + this.take(found.at), out);
    this.pending = this.pending.slice(found.tag.length);
    this.textSoFar = '';
    this.sawTag = true;
    this.openedByTemplate = true;
    this.state = 'gap';
    return true;
  }

  private inBlock(final: boolean, out: SplitPiece): boolean {
    const found = findTag(this.pending, [this.closer], final);
    if (found === null) {
      this.addReasoning(this.take(this.pending.length), out);
      return false;
    }
    this.addReasoning(this.take(found.at), out);
    if (found.tag === null) return false;
    this.pending = this.pending.slice(found.tag.length);
    this.state = 'gap';
    return true;
  }

  private inHeld(final: boolean, out: SplitPiece): boolean {
    const found = findTag(this.pending, [...CLOSERS, ...OPENERS], final);
    if (found === null) {
      this.held += this.take(this.pending.length);
      if (final) {
        this.emitText(this.held, out);
        this.held = '';
      }
      return false;
    }
    this.held += this.take(found.at);
    if (found.tag === null) return false;
    this.pending = this.pending.slice(found.tag.length);
    if (OPENERS.includes(found.tag)) {
      // An opening tag first: the model opens its own blocks after all, and the held text is answer.
      this.emitText(this.held, out);
      this.held = '';
      this.openBlock(found.tag);
      return true;
    }
    this.addReasoning(this.held, out);
    this.held = '';
    this.sawTag = true;
    this.openedByTemplate = true;
    this.state = 'gap';
    return true;
  }

  private openBlock(opener: string): void {
    this.sawTag = true;
    this.closer = `</${opener.slice(1)}`;
    // Blocks are kept apart so that their text does not run together.
    if (this.reasoningSoFar.trim() !== '') this.reasoningSoFar += '\n\n';
    this.state = 'reasoning';
  }

  private take(n: number): string {
    const head = this.pending.slice(0, n);
    this.pending = this.pending.slice(n);
    return head;
  }

  private emitText(text: string, out: SplitPiece): void {
    this.textSoFar += text;
    out.text += text;
  }

  private addReasoning(text: string, out: SplitPiece): void {
    this.reasoningSoFar += text;
    out.reasoning += text;
  }
}

/** Splits a whole reply's content into reasoning and answer. */
export function splitReasoning(content: string): ReasoningSplit {
  const splitter = new ReasoningSplitter();
  splitter.push(content);
  splitter.end();
  return splitter.result();
}

/**
 * The reasoning of a reply from both places it can be: a server's reasoning field and tags in
 * the content. llama.cpp's `deepseek-legacy` format sends the same thoughts in both (notes §3):
 * they are kept once.
 */
export function joinReasoning(field: string | null | undefined, inContent: string | null): string | null {
  const fromField = field?.trim() ?? '';
  if (fromField === '') return inContent;
  if (inContent === null || inContent === fromField) return fromField;
  return `${fromField}\n\n${inContent}`;
}
