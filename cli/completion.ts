// Shell completion: yargs completes commands and flags (`lessons completion bash|zsh|fish`
// prints the script, which calls `lessons --get-yargs-completions ...` as the user types);
// this adds what only the store knows: record ids after `show` and `--source-id`, domains
// after `--domain`, tags after `--tag`/`--tags`. A store that cannot be read adds nothing.

import { resolveStoreDir } from '../src/resources/layout.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;

/** The words the store offers after `previous` (the word before the one being completed). */
export async function storeWords(
  previous: string | undefined,
  dir: string | undefined,
): Promise<string[]> {
  const want =
    previous === '--domain'
      ? 'domains'
      : previous === '--tag' || previous === '--tags'
        ? 'tags'
        : previous === '--source-id' || previous === 'show'
          ? 'ids'
          : undefined;
  if (want === undefined) return [];
  try {
    const { openStore } = await import('../src/store/store.js');
    const store = await openStore({ dir: resolveStoreDir(dir) });
    try {
      return (await store.completionWords())[want];
    } finally {
      await store.close();
    }
  } catch {
    return [];
  }
}

/** `--dir` as typed on the line being completed, if any. */
export function dirOnLine(words: readonly string[]): string | undefined {
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === '--dir') return words[i + 1];
    if (word.startsWith('--dir=')) return word.slice('--dir='.length);
  }
  return undefined;
}
