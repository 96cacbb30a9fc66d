// Property-based tests (fast-check) over the validators and the renderer/parser, shared by the
// fast suite and its slow twin, which only runs more cases: any accepted title, rule, domain,
// tags and body round-trips file -> row -> `show --json` exactly; any rejected input leaves
// the store byte-identical (HEAD, index.db checksum, file list).

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { expect } from 'vitest';
import { InvalidInputError, LessonsError, openStore, type Store } from '../../src/index.js';
import YAML from 'yaml';
import { parseRecord, prepareRecord, renderRecord } from '../../src/record/markdown.js';
import { newId } from '../../src/record/ids.js';
import type { FailureInput, HeuristicInput, LessonRecord } from '../../src/record/types.js';
import { validateFailure, validateHeuristic } from '../../src/record/validate.js';
import { rowFromRecord } from '../../src/db/database.js';
import { lessons, runCli, BIN, tempDir } from '../helpers/store.js';

/** Strings that have tripped YAML front matter and Markdown up before. */
const TRICKY = [
  '---',
  ': x',
  '"q"',
  "'",
  '#',
  '- a',
  '[a]',
  '{b}',
  'null',
  'true',
  '0x1F',
  '0b101',
  '1e3',
  '+.inf',
  '~',
  '&anchor',
  '*alias',
  '!tag',
  '%',
  '@',
  '`',
  '|',
  '>',
  ' lead',
  'trail ',
  'é😀',
  '\u202eRTL',
  'Ａ',
  '\t',
  '\n',
  '\r\n',
  '\u2028',
  '\u0000',
  '\u0007',
  '\u0085',
] as const;

const piece = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 2, arbitrary: fc.constantFrom(...TRICKY) },
);
/** Any text: mostly plausible, often hostile, sometimes far too long. */
const text = (max: number): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.array(piece, { maxLength: 6 }).map((parts) => parts.join('')) },
    { weight: 1, arbitrary: fc.string({ minLength: max - 2, maxLength: max + 3 }) },
  );
const domain = fc.oneof(
  { weight: 12, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_-]{1,20}$/) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9_-]{98,102}$/) },
  { weight: 1, arbitrary: text(20) },
  { weight: 1, arbitrary: fc.constantFrom('con', 'NUL', 'com1', 'Database', '') },
);
const tags = fc.oneof(
  fc.array(fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,12}$/), text(50)), { maxLength: 22 }),
  text(40),
);
const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.option(arb, { nil: undefined, freq: 2 });

export const failureInput: fc.Arbitrary<FailureInput> = fc.record({
  title: text(500),
  domain,
  severity: optional(
    fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 1, max: 5 }) },
      { weight: 1, arbitrary: fc.constantFrom(0, 6, 'low', 'high', 'x') },
    ),
  ),
  summary: optional(text(50_000)),
  rootCause: optional(text(200)),
  tags: optional(tags),
  body: optional(text(50_000)),
});

export const heuristicInput: fc.Arbitrary<HeuristicInput> = fc.record({
  rule: text(500),
  domain,
  explanation: optional(text(200)),
  confidence: optional(
    fc.oneof(
      { weight: 4, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
      { weight: 1, arbitrary: fc.double({ min: -0.5, max: 1.5, noNaN: true }) },
      { weight: 1, arbitrary: fc.constantFrom('medium', '2') },
    ),
  ),
  source: optional(
    fc.constantFrom('failure', 'success', 'observation', 'debugging', 'Debugging', 'guess'),
  ),
  tags: optional(tags),
  body: optional(text(300)),
});

/** The validated record, or the InvalidInputError that refused it (anything else fails). */
export function validate(
  kind: 'failure' | 'heuristic',
  input: FailureInput | HeuristicInput,
): LessonRecord | InvalidInputError {
  try {
    return kind === 'failure'
      ? validateFailure(input as FailureInput)
      : validateHeuristic(input as HeuristicInput);
  } catch (error) {
    if (error instanceof InvalidInputError) return error;
    throw error;
  }
}

/** In process: an accepted record renders to a file that parses back to exactly it. */
export function renderRoundTrip(numRuns: number): void {
  for (const [kind, arb] of [
    ['failure', failureInput],
    ['heuristic', heuristicInput],
  ] as const) {
    fc.assert(
      fc.property(arb, (input) => {
        const record = validate(kind, input);
        if (record instanceof InvalidInputError) {
          // Refusals name a field the caller knows and say how to fix it.
          expect(record.exitCode).toBe(2);
          expect(record.field).not.toBe('');
          expect(record.fix).not.toBe('');
          return;
        }
        const rendered = prepareRecord(record);
        const parsed = parseRecord(rendered.content);
        expect(parsed).toEqual(record);
        expect(rowFromRecord(parsed, rendered.path, '', '', '')).toEqual(
          rowFromRecord(record, rendered.path, '', '', ''),
        );
        // With the fields only imports and sources set, the same; and `yaml`, a second YAML
        // 1.2 parser written apart from js-yaml, reads the same front matter from the file.
        const full: LessonRecord = {
          ...record,
          importedFrom: { from: record.title, keys: [record.domain, ...record.tags], n: 1.5 },
          ...(record.kind === 'heuristic' ? { sourceId: newId() } : {}),
        };
        const text = renderRecord(full);
        expect(parseRecord(text)).toEqual(full);
        const fm = text.slice(4, text.indexOf('\n---\n', 3) + 1);
        expect(YAML.parse(fm, { schema: 'core', version: '1.2' })).toEqual(frontMatterOf(full));
      }),
      { numRuns },
    );
  }
}

/** The front matter a record's file must hold, key by key. */
function frontMatterOf(record: LessonRecord): Record<string, unknown> {
  const { id, kind, title, domain, tags, created, importedFrom } = record;
  const kindFields =
    record.kind === 'failure'
      ? { severity: record.severity }
      : { source: record.source, confidence: record.confidence, source_id: record.sourceId };
  const fields = { id, kind, title, domain, ...kindFields, tags, created };
  const all: Record<string, unknown> = { ...fields, imported_from: importedFrom };
  for (const key of Object.keys(all)) if (all[key] === undefined) delete all[key];
  return all;
}

/** What `show --json` must report of an accepted record. */
function expectedView(record: LessonRecord): Record<string, unknown> {
  return {
    id: record.id,
    kind: record.kind,
    title: record.title,
    domain: record.domain,
    tags: record.tags,
    created: record.created,
    body: record.body,
    severity: record.kind === 'failure' ? record.severity : null,
    confidence: record.kind === 'heuristic' ? record.confidence : null,
    source: record.kind === 'heuristic' ? record.source : null,
  };
}

/** HEAD, the checksum of index.db and the list of files: what a refusal must leave alone. */
export function fingerprint(dir: string): string {
  const files: string[] = [];
  const walk = (rel: string): void => {
    const full = path.join(dir, rel);
    if (!fs.existsSync(full)) return;
    for (const name of fs.readdirSync(full).sort()) {
      const p = rel === '' ? name : `${rel}/${name}`;
      if (fs.lstatSync(path.join(dir, p)).isDirectory()) walk(p);
      else if (!p.endsWith('index.db-shm')) files.push(p);
    }
  };
  walk('');
  const hash = (file: string): string =>
    fs.existsSync(file)
      ? createHash('sha256').update(fs.readFileSync(file)).digest('hex')
      : 'absent';
  return JSON.stringify({
    head: hash(path.join(dir, '.git', 'refs', 'heads', 'main')),
    db: hash(path.join(dir, 'index.db')),
    wal: hash(path.join(dir, 'index.db-wal')),
    files,
  });
}

/**
 * Through a real store, in process: accepted inputs round-trip file -> row -> get() (what
 * `show --json` prints) exactly; rejected ones leave the store byte-identical.
 */
export async function storeRoundTrip(numRuns: number): Promise<void> {
  const dir = path.join(tempDir(), 'store');
  const store: Store = await openStore({ dir });
  try {
    await store.recordFailure({ title: 'seed', domain: 'seed' });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          failureInput.map((input) => ['failure', input] as const),
          heuristicInput.map((input) => ['heuristic', input] as const),
        ),
        async ([kind, input]) => {
          const before = fingerprint(dir);
          let stored;
          try {
            stored =
              kind === 'failure'
                ? await store.recordFailure(input)
                : await store.recordHeuristic(input);
          } catch (error) {
            if (!(error instanceof LessonsError) || error.exitCode !== 2) throw error;
            expect(fingerprint(dir)).toBe(before);
            return;
          }
          const file = parseRecord(fs.readFileSync(path.join(dir, stored.path)));
          const view = await store.get(stored.id);
          expect(view).toMatchObject(expectedView(file));
          expect(view.path).toBe(stored.path);
          expect(view.commit).toBe(stored.commit);
        },
      ),
      { numRuns },
    );
  } finally {
    await store.close();
  }
}

/** The same through the command line: record-failure, then `show --json`. */
export async function cliRoundTrip(numRuns: number): Promise<void> {
  const dir = path.join(tempDir(), 'store');
  expect(
    (await lessons(['--dir', dir, 'record-failure', '--title', 'seed', '--domain', 's'])).code,
  ).toBe(0);
  const bodyFile = path.join(tempDir(), 'body.md');
  await fc.assert(
    fc.asyncProperty(failureInput, async (input) => {
      const before = fingerprint(dir);
      const args = ['--dir', dir, '--json', `--title=${input.title}`, `--domain=${input.domain}`];
      for (const [flag, value] of [
        ['--severity', input.severity],
        ['--summary', input.summary],
        ['--root-cause', input.rootCause],
        ['--tags', Array.isArray(input.tags) ? input.tags.join(',') : input.tags],
      ] as const)
        if (value !== undefined) args.push(`${flag}=${String(value)}`);
      if (input.body !== undefined) {
        fs.writeFileSync(bodyFile, input.body);
        args.push('--body-file', bodyFile);
      }
      // An argument cannot hold NUL: the command line never sees such input.
      if (args.some((a) => a.includes('\u0000'))) return;
      const result = await runCli(BIN.recordFailure, args);
      if (result.code === 2) {
        expect(fingerprint(dir)).toBe(before);
        return;
      }
      expect(result.code, result.stderr).toBe(0);
      const id = String(result.json!.id);
      const shown = await lessons(['--dir', dir, 'show', '--json', id]);
      const file = parseRecord(fs.readFileSync(path.join(dir, String(result.json!.path))));
      expect(shown.json!.record).toMatchObject(expectedView(file));
    }),
    { numRuns },
  );
}
