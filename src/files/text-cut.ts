/** A document's text as it is kept: trailing blanks and blank runs tidied, cut at a character count. */
export function cutText(text: string, maxChars: number): { text: string; cut: boolean } {
  const trimmed = text.replace(/[ \t]+\n/g, '\n').replace(/\n{3,}/g, '\n\n').trim();
  if (trimmed.length <= maxChars) return { text: trimmed, cut: false };
  return { text: Array.from(trimmed.slice(0, maxChars + 1)).slice(0, maxChars).join(''), cut: true };
}
