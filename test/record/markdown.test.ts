import { describe, expect, it } from 'vitest';

/** The error of a file that is not a record: its code, and the reason the message gives. */
const unparseable = (reason: RegExp): unknown =>
  expect.objectContaining({ code: 'RECORD_UNPARSEABLE', message: expect.stringMatching(reason) });
import { parseRecord, prepareRecord, renderRecord } from '../../src/record/markdown.js';
import { slugify } from '../../src/record/slug.js';
import { validateFailure, validateHeuristic } from '../../src/record/validate.js';
import { recordPath } from '../../src/record/paths.js';

const now = new Date('2026-11-22T21:04:05.123Z');

const hardTitles = [
  'Migration dropped a column',
  'Quotes "double" and \'single\' and `back`',
  'key: value: with colons',
  '--- three dashes --- in the middle',
  '---',
  '# not a heading',
  'Emoji 🚀🔥 and ZWJ 👩‍💻',
  'עברית RTL text with ‏marks‏ שלום',
  'العربية مع أرقام ١٢٣',
  "Robert'); DROP TABLE records;--",
  'yes',
  'null',
  '123',
  '1.0',
  '2026-11-22',
  '@at [brackets] {braces} & *star* !bang %percent |pipe >gt',
  '  leading spaces are trimmed  ',
  // Numbers to js-yaml's own core schema, strings to YAML 1.2 (and to `yaml`, which renders).
  '0b101',
  '+0x1',
  '-0b1',
  '1_000',
  '1_0.5',
  '0o17',
  '0x1F',
  '.inf',
  '-.Inf',
  '.NaN',
  '~',
  'NULL',
  'TRUE',
  'on',
  '0777',
  '1e3',
];

describe('render and parse', () => {
  it.each(hardTitles)('round-trips the title %j exactly', (title) => {
    const record = validateFailure(
      {
        title,
        domain: 'Edge-Cases',
        severity: 'critical',
        tags: 'a,b',
        summary: 'text\n---\nmore',
      },
      now,
    );
    const parsed = parseRecord(renderRecord(record));
    expect(parsed).toEqual(record);
    expect(parsed.title).toBe(title.trim());
  });

  it('round-trips 3,000 generated scalars in title, domain and tags', () => {
    // Strings made of the pieces that decide how YAML resolves a plain scalar.
    const pieces = [
      '0',
      '1',
      '7',
      '9',
      '0b',
      '0o',
      '0x',
      'F',
      '_',
      '.',
      'e',
      '+',
      '-',
      'inf',
      'NaN',
      '~',
      'null',
      'True',
      'no',
      ':',
    ];
    let seed = 42;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pick = (): string => pieces[Math.floor(random() * pieces.length)]!;
    for (let i = 0; i < 3000; i++) {
      const text = Array.from({ length: 1 + Math.floor(random() * 4) }, pick).join('');
      const domain = text.toLowerCase().replace(/[^a-z0-9_-]/g, '') || 'd';
      const record = validateFailure({ title: text, domain, tags: [domain] }, now);
      expect(parseRecord(renderRecord(record)), text).toEqual(record);
    }
  });

  it('round-trips a heuristic with every field', () => {
    const record = validateHeuristic(
      {
        rule: 'Always: back up "first"',
        domain: 'db',
        explanation: 'Because\n\n## not a section',
        source: 'failure',
        confidence: 'high',
        sourceId: '01JDX3ABCDEFGHJKMNPQRSTVWX',
        tags: ['Ops', 'ops', 'x'],
        body: 'tail',
      },
      now,
    );
    expect(record.kind === 'heuristic' && record.confidence).toBe(0.85);
    expect(record.tags).toEqual(['ops', 'x']);
    expect(parseRecord(renderRecord(record))).toEqual(record);
  });

  it('writes the front matter fields of the design and the sections given', () => {
    const record = validateFailure(
      { title: 'T', domain: 'd', severity: 2, summary: 'S', rootCause: 'R', prevention: 'P' },
      now,
    );
    const text = renderRecord(record);
    expect(text).toMatch(
      /^---\nid: [0-9A-Z]{26}\nkind: failure\ntitle: T\ndomain: d\nseverity: 2\ntags: \[\]\ncreated: 2026-11-22T21:04:05.123Z\n---\n# T\n/,
    );
    expect(text).toContain('## Summary\n\nS\n');
    expect(text).toContain('## Root Cause\n\nR\n');
    expect(text).toContain('## Prevention\n\nP\n');
    expect(text).not.toContain('## Impact');
  });

  it('places failures by month and heuristics by domain', () => {
    const failure = validateFailure({ title: 'A title', domain: 'x' }, now);
    const heuristic = validateHeuristic({ rule: 'A rule', domain: 'y' }, now);
    expect(recordPath(failure)).toBe(`failures/2026/11/${failure.id}-a-title.md`);
    expect(recordPath(heuristic)).toBe(`heuristics/y/${heuristic.id}-a-rule.md`);
  });

  it('computes the git blob id and sha256 of the exact bytes', () => {
    const rendered = prepareRecord(validateFailure({ title: 'x', domain: 'y' }, now));
    expect(rendered.blobOid).toMatch(/^[0-9a-f]{40}$/);
    expect(rendered.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses files that are not records, naming the reason', () => {
    expect(() => parseRecord('no front matter')).toThrow(unparseable(/front matter/));
    expect(() => parseRecord('---\nid: x\n')).toThrow(unparseable(/not closed/));
    expect(() => parseRecord('---\nid: nope\nkind: failure\n---\n')).toThrow(unparseable(/ULID/));
    expect(() => parseRecord(Buffer.from([0x2d, 0x2d, 0x2d, 0x0a, 0xff, 0xfe]))).toThrow(
      unparseable(/UTF-8/),
    );
    const good = renderRecord(validateFailure({ title: 'x', domain: 'y' }, now));
    expect(() => parseRecord(good.replace('severity: 3', 'severity: 9'))).toThrow(
      unparseable(/severity/),
    );
    expect(() => parseRecord(good.replace('kind: failure', 'kind: success'))).toThrow(
      unparseable(/kind/),
    );
  });
});

describe('slugify', () => {
  it.each([
    ['Migration dropped a column', 'migration-dropped-a-column'],
    ['Ünïcödé Çafé', 'unicode-cafe'],
    ['🚀🔥', 'untitled'],
    ['   ', 'untitled'],
    ['../../etc/passwd', 'etc-passwd'],
    ['CON', 'con-record'],
    ['lpt1', 'lpt1-record'],
    ['a'.repeat(100), 'a'.repeat(60)],
  ])('slugifies %j as %j', (input, slug) => {
    expect(slugify(input)).toBe(slug);
  });

  it('never exceeds 60 characters and cuts at a word boundary when it can', () => {
    const slug = slugify('word '.repeat(40));
    expect(slug.length).toBeLessThanOrEqual(60);
    expect(slug.endsWith('-')).toBe(false);
    expect(slug).toMatch(/^[a-z0-9-]+$/);
  });
});

describe('validation', () => {
  it('takes a confidence of -0 as 0, so the file, the row and show agree', () => {
    const record = validateHeuristic({ rule: 'r', domain: 'd', confidence: -0 });
    expect(Object.is(record.kind === 'heuristic' && record.confidence, 0)).toBe(true);
    expect(renderRecord(record)).toContain('\nconfidence: 0\n');
  });

  const bad: [string, () => unknown, string][] = [
    ['empty title', () => validateFailure({ title: '', domain: 'd' }), 'title'],
    ['501-char title', () => validateFailure({ title: 'x'.repeat(501), domain: 'd' }), 'title'],
    ['newline in title', () => validateFailure({ title: 'a\nb', domain: 'd' }), 'title'],
    ['tab in title', () => validateFailure({ title: 'a\tb', domain: 'd' }), 'title'],
    ['NUL in title', () => validateFailure({ title: 'a\0b', domain: 'd' }), 'title'],
    ['lone surrogate', () => validateFailure({ title: 'a\uD800b', domain: 'd' }), 'title'],
    ['../ in domain', () => validateFailure({ title: 't', domain: '../etc' }), 'domain'],
    ['reserved domain', () => validateFailure({ title: 't', domain: 'nul' }), 'domain'],
    ['101-char domain', () => validateFailure({ title: 't', domain: 'd'.repeat(101) }), 'domain'],
    [
      'unknown severity',
      () => validateFailure({ title: 't', domain: 'd', severity: 'huge' }),
      'severity',
    ],
    ['severity 6', () => validateFailure({ title: 't', domain: 'd', severity: 6 }), 'severity'],
    [
      'confidence 1.5',
      () => validateHeuristic({ rule: 'r', domain: 'd', confidence: 1.5 }),
      'confidence',
    ],
    [
      'unknown source',
      () => validateHeuristic({ rule: 'r', domain: 'd', source: 'rumour' }),
      'source',
    ],
    [
      // A prefix such as 'abc' is valid here: the store resolves it (or refuses it, exit 2).
      'bad source id',
      () => validateHeuristic({ rule: 'r', domain: 'd', sourceId: 'not an id' }),
      'sourceId',
    ],
    [
      '50,001-char summary',
      () => validateFailure({ title: 't', domain: 'd', summary: 's'.repeat(50_001) }),
      'summary',
    ],
    [
      '21 tags',
      () =>
        validateFailure({
          title: 't',
          domain: 'd',
          tags: Array.from({ length: 21 }, (_, i) => `t${i}`),
        }),
      'tags',
    ],
    [
      '51-char tag',
      () => validateFailure({ title: 't', domain: 'd', tags: ['x'.repeat(51)] }),
      'tags',
    ],
    [
      'control char in body',
      () => validateFailure({ title: 't', domain: 'd', body: 'a\u0007b' }),
      'body',
    ],
    [
      'bad created date',
      () => validateFailure({ title: 't', domain: 'd', created: 'yesterday' }),
      'created',
    ],
  ];
  it.each(bad)('rejects %s naming the field', (_name, fn, field) => {
    let caught: unknown;
    try {
      fn();
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'INVALID_INPUT', exitCode: 2, field });
    expect((caught as Error).message.startsWith(`${field}: `)).toBe(true);
  });

  it('accepts the boundaries', () => {
    expect(
      validateFailure({
        title: 'x'.repeat(500),
        domain: 'd'.repeat(100),
        summary: 's'.repeat(50_000),
        tags: Array.from({ length: 20 }, (_, i) => `t${i}`),
      }).title,
    ).toHaveLength(500);
    expect(validateFailure({ title: '🚀'.repeat(500), domain: 'd' }).title).toHaveLength(1000);
    expect(validateHeuristic({ rule: 'r', domain: 'd', confidence: 0 }).confidence).toBe(0);
    expect(validateHeuristic({ rule: 'r', domain: 'd', confidence: '1' }).confidence).toBe(1);
  });

  it('maps the word forms of severity and confidence', () => {
    expect(
      ['low', 'medium', 'high', 'critical'].map(
        (s) => validateFailure({ title: 't', domain: 'd', severity: s }).severity,
      ),
    ).toEqual([2, 3, 4, 5]);
    expect(
      ['low', 'medium', 'high'].map(
        (c) => validateHeuristic({ rule: 'r', domain: 'd', confidence: c }).confidence,
      ),
    ).toEqual([0.3, 0.6, 0.85]);
    expect(validateFailure({ title: 't', domain: 'd' }).severity).toBe(3);
    expect(validateHeuristic({ rule: 'r', domain: 'd' }).confidence).toBe(0.7);
  });

  it('gives strictly increasing ids within a process', () => {
    const ids = Array.from({ length: 200 }, () => validateFailure({ title: 't', domain: 'd' }).id);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(200);
  });
});
