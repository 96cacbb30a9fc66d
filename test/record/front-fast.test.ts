// The front matter's fast reader (ownFront) against js-yaml (yamlFront), which it stands in
// for: every front matter the renderer writes is read by the fast reader, and whatever it
// reads, from rendered files and from random edits of them, js-yaml reads the same.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/index.js';
import { newId } from '../../src/record/ids.js';
import { ownFront, parseRecord, renderRecord, yamlFront } from '../../src/record/markdown.js';
import type { LessonRecord } from '../../src/record/types.js';
import { failureInput, heuristicInput, validate } from './properties.js';

/** A record the validators accept, with an import's origin and a source id now and then. */
const record: fc.Arbitrary<LessonRecord> = fc
  .tuple(
    fc.oneof(
      failureInput.map((input) => validate('failure', input)),
      heuristicInput.map((input) => validate('heuristic', input)),
    ),
    // As JSON gives it back (JSON has no -0).
    fc.option(
      fc
        .dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.jsonValue())
        .map((v) => JSON.parse(JSON.stringify(v)) as Record<string, unknown>),
      { nil: undefined },
    ),
    fc.boolean(),
  )
  .filter(([r]) => !(r instanceof InvalidInputError))
  .map(([r, importedFrom, withSource]) => {
    const valid = r as LessonRecord;
    return {
      ...valid,
      ...(importedFrom === undefined ? {} : { importedFrom }),
      ...(withSource && valid.kind === 'heuristic' ? { sourceId: newId() } : {}),
    };
  });

const frontOf = (text: string): string => text.slice(4, text.indexOf('\n---\n', 3) + 1);

/** What js-yaml makes of a front matter, or 'error'. */
function yamlOrError(front: string): unknown {
  try {
    return yamlFront(front);
  } catch {
    return 'error';
  }
}

/** Bits that change what YAML reads: indicators, quotes, escapes, breaks, odd spaces. */
const HOSTILE = [
  ' ',
  '  ',
  '#',
  ' #c',
  '"',
  "'",
  '\\',
  '\\x41',
  '\\e',
  '\\N',
  '\\/',
  ',',
  ', ',
  ':',
  ': ',
  '\n',
  '\n  ',
  '\n- ',
  '\r',
  '\t',
  '[',
  ']',
  '{',
  '}',
  '&a ',
  '*a',
  '!!str ',
  '? ',
  '|',
  '>',
  '...',
  '---',
  '~',
  'null',
  'true',
  '0x1',
  '1_0',
  '.5',
  '+1',
  '\u0085',
  '\u2028',
  '\ufeff',
  '\u00a0',
  '\ud800',
  'é',
];

type EditOf =
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'lines'; a: number; b: number; copy: boolean };

const edit: fc.Arbitrary<EditOf> = fc.oneof(
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ unit: 'binary', maxLength: 4 })),
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 4 }),
  }),
  fc.record({ kind: fc.constant('lines' as const), a: fc.nat(), b: fc.nat(), copy: fc.boolean() }),
);

function applyEdit(front: string, e: EditOf): string {
  if (e.kind === 'insert') {
    const at = e.at % (front.length + 1);
    return front.slice(0, at) + e.text + front.slice(at);
  }
  if (e.kind === 'delete') {
    const at = e.at % Math.max(front.length, 1);
    return front.slice(0, at) + front.slice(at + e.length);
  }
  // Move a line to another place (or copy it there): order and repeats of keys.
  const lines = front.split('\n').slice(0, -1);
  const from = e.a % lines.length;
  const line = lines[from]!;
  if (!e.copy) lines.splice(from, 1);
  lines.splice(e.b % (lines.length + 1), 0, line);
  return `${lines.join('\n')}\n`;
}

describe('the fast front-matter reader', () => {
  it('reads every front matter the renderer writes, as js-yaml reads it', () => {
    fc.assert(
      fc.property(record, (r) => {
        const text = renderRecord(r);
        const front = frontOf(text);
        const fast = ownFront(front);
        expect(fast).toBeDefined();
        expect(fast).toEqual(yamlFront(front));
        expect(parseRecord(text)).toEqual(r);
      }),
      { numRuns: 600 },
    );
  });

  it('reads an edited front matter only as js-yaml would, and leaves the rest to it', () => {
    let read = 0;
    let declined = 0;
    fc.assert(
      fc.property(record, fc.array(edit, { minLength: 1, maxLength: 3 }), (r, edits) => {
        let front = frontOf(renderRecord(r));
        for (const e of edits) front = applyEdit(front, e);
        const fast = ownFront(front);
        if (fast === undefined) {
          declined += 1;
          return;
        }
        read += 1;
        expect(yamlOrError(front)).toEqual(fast);
      }),
      { numRuns: 3000 },
    );
    // Both sides were exercised: edits it read (moved lines, edits inside a canonical
    // value) and edits it left to js-yaml.
    expect(read).toBeGreaterThan(100);
    expect(declined).toBeGreaterThan(100);
  });

  it('leaves to js-yaml what YAML reads otherwise or a person wrote', () => {
    const base = 'id: 01JAAAAAAAAAAAAAAAAAAAAAAA\nkind: failure\n';
    for (const front of [
      '',
      `${base}title: "plain"\n`, // quoted where the renderer writes it plain
      `${base}title: 'single'\n`,
      `${base}title: a # comment\n`,
      `${base}# comment\ntitle: a\n`,
      `${base}title:  two spaces\n`,
      `${base}title:\ta\n`,
      `${base}title: a\n  continued\n`,
      `${base}title: "\\x41"\n`,
      `${base}title: "\\/"\n`,
      `${base}title: a\r\n`,
      `${base}title: a\ntitle: b\n`,
      `${base}note: unknown key\n`,
      `${base}severity: 0x3\n`,
      `${base}severity: 3.0\n`,
      `${base}severity: +3\n`,
      `${base}confidence: .5\n`,
      `${base}confidence: Infinity\n`,
      `${base}tags: [a,b]\n`,
      `${base}tags: [ a ]\n`,
      `${base}tags:\n  - a\n`,
      `${base}tags: ["a"]\n`,
      `${base}imported_from: {a: 1}\n`,
      `${base}imported_from: {"a": 1}\n`,
      `${base}imported_from: [1]\n`,
      `${base}kind: heuristic\n`,
      `${base}...\n`,
      `${base}title: a`, // no final line break
    ]) {
      expect(ownFront(front), JSON.stringify(front)).toBeUndefined();
    }
    // And reads these, which js-yaml reads the same.
    for (const front of [
      `${base}title: "null"\ntags: []\n`,
      `${base}tags: [a, "b, c", "0x1"]\nseverity: 3\n`,
      `${base}imported_from: {"a":1,"b":[true,null,"\\u0085"],"c":{"d":1e+21}}\n`,
      `${base}created: 2026-12-07T10:00:00.000Z\nconfidence: 1e-7\n`,
      `${base}created: 2026-12-07\n`,
    ]) {
      expect(ownFront(front), JSON.stringify(front)).toEqual(yamlFront(front));
    }
  });
});
