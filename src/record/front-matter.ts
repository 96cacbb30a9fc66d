// The frame every file of the store shares: a `---` line, the front matter, a `---` line, the
// body. Splitting it is the same for records and events; what the front matter says is theirs.

export const FENCE = '---\n';

/** The front matter (without its fences) and the body; `fail` throws the caller's parse error. */
export function splitFrontMatter(
  content: string | Uint8Array,
  fail: (reason: string) => never,
): { readonly text: string; readonly front: string; readonly body: string } {
  let text: string;
  try {
    text =
      typeof content === 'string'
        ? content
        : new TextDecoder('utf-8', { fatal: true }).decode(content);
  } catch {
    fail('the file is not valid UTF-8');
  }
  if (!text.startsWith(FENCE)) fail('the file does not start with a "---" front matter line');
  const end = text.indexOf(`\n${FENCE}`, FENCE.length - 1);
  if (end < 0) fail('the front matter is not closed by a "---" line');
  return {
    text,
    front: text.slice(FENCE.length, end + 1),
    body: text.slice(end + 1 + FENCE.length),
  };
}
