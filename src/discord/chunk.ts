/** Discord's limit on a message's content. */
export const MESSAGE_LIMIT = 2000;

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });
const FENCE = /^\s*(`{3,}|~{3,})(\S*)/;

/**
 * Cuts a line that alone exceeds `max`: at the last space that fits (so links and words stay
 * whole), else at a grapheme boundary (so no emoji or accented letter is split).
 */
function splitLongLine(line: string, max: number): string[] {
  const parts: string[] = [];
  let rest = line;
  while (rest.length > max) {
    const space = rest.lastIndexOf(' ', max);
    let cut = space > max / 2 ? space : -1;
    if (cut === -1) {
      cut = 0;
      for (const { index, segment } of graphemes.segment(rest)) {
        if (index + segment.length > max) break;
        cut = index + segment.length;
      }
      if (cut === 0) cut = max;
    }
    parts.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^ /, '');
  }
  parts.push(rest);
  return parts;
}

/**
 * Splits text into messages of at most `limit` characters. Breaks between lines where it can;
 * a code block cut in two is closed at the end of one message and reopened (same language) at
 * the start of the next, so both render as code.
 */
export function splitMessage(text: string, limit = MESSAGE_LIMIT): string[] {
  const trimmed = text.trim();
  if (trimmed.length <= limit) return trimmed === '' ? [] : [trimmed];
  const chunks: string[] = [];
  let current: string[] = [];
  let currentLength = 0;
  let fence: { marker: string; lang: string } | null = null;
  let opener = '';

  const flush = () => {
    if (current.length === 0) return;
    const body = current.join('\n');
    chunks.push(fence === null ? body : `${body}\n${fence.marker}`);
    opener = fence === null ? '' : `${fence.marker}${fence.lang}`;
    current = opener === '' ? [] : [opener];
    currentLength = opener.length;
  };

  for (const line of trimmed.split('\n')) {
    // Room for a closing fence, should this message end inside a code block.
    const reserve = 8;
    const budget = limit - reserve;
    for (const piece of line.length > budget - opener.length - 1 ? splitLongLine(line, budget - opener.length - 1) : [line]) {
      const added = (current.length === 0 ? 0 : 1) + piece.length;
      if (currentLength + added > budget && current.length > (opener === '' ? 0 : 1)) flush();
      currentLength += (current.length === 0 ? 0 : 1) + piece.length;
      current.push(piece);
    }
    const match = FENCE.exec(line);
    if (match !== null) {
      const marker = match[1] ?? '```';
      if (fence === null) fence = { marker, lang: match[2] ?? '' };
      else if (marker.startsWith(fence.marker[0] ?? '`')) fence = null;
    }
  }
  if (current.length > (opener === '' ? 0 : 1)) {
    chunks.push(current.join('\n'));
  }
  return chunks.map((c) => c.trim()).filter((c) => c !== '' && c !== opener);
}
