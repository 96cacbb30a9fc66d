// File names derived from titles: portable on every OS and never empty.

const MAX_SLUG = 60;

// Device names Windows refuses as file names, with or without an extension.
const RESERVED = new Set([
  'con',
  'prn',
  'aux',
  'nul',
  ...Array.from({ length: 9 }, (_, i) => `com${i + 1}`),
  ...Array.from({ length: 9 }, (_, i) => `lpt${i + 1}`),
]);

export function isReservedName(name: string): boolean {
  return RESERVED.has(name.toLowerCase());
}

/** Lowercase `[a-z0-9-]`, at most 60 characters, never empty, never a reserved name. */
export function slugify(text: string): string {
  const folded = text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
  let slug = folded.replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  if (slug.length > MAX_SLUG) {
    slug = slug.slice(0, MAX_SLUG);
    const lastDash = slug.lastIndexOf('-');
    if (lastDash >= MAX_SLUG / 2) slug = slug.slice(0, lastDash);
    slug = slug.replace(/-+$/, '');
  }
  if (slug === '') return 'untitled';
  return isReservedName(slug) ? `${slug}-record` : slug;
}
