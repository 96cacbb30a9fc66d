// The event format and the fold: parse(render(e)) == e for every event the schema allows
// (fast-check), parse refuses what render would not write, and the fold follows the formula.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EVENT_VERBS,
  parseEvent,
  renderEvent,
  type LifecycleEvent,
} from '../../src/record/event.js';
import { foldRecord, posterior } from '../../src/record/fold.js';
import type { HeuristicRecord } from '../../src/record/types.js';

const ULID = fc
  .array(fc.constantFrom(...'0123456789ABCDEFGHJKMNPQRSTVWXYZ'), { minLength: 26, maxLength: 26 })
  .map((c) => `0${c.slice(1).join('')}`);
const created = fc
  .date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true })
  .map((d) => d.toISOString());
// Any text at all: quotes, line breaks, controls, emoji; JSON carries it.
const text = fc.string({ unit: 'grapheme', maxLength: 40 });

const event: fc.Arbitrary<LifecycleEvent> = fc
  .record({ verb: fc.constantFrom(...EVENT_VERBS), id: ULID, target: ULID, created })
  .chain(({ verb, ...base }) => {
    const head = { kind: 'event' as const, verb, ...base };
    switch (verb) {
      case 'validate':
      case 'violate':
        return fc
          .record(
            {
              count: fc.integer({ min: 2, max: 1_000_000 }),
              note: text,
              failure: verb === 'violate' ? ULID : fc.constant(undefined),
            },
            { requiredKeys: [] },
          )
          .map((r) => ({ ...head, ...strip(r), body: '' }) as LifecycleEvent);
      case 'promote':
      case 'demote':
        return fc.constant({ ...head, body: '' });
      case 'retire':
        return fc
          .record({ reason: text, supersededBy: ULID }, { requiredKeys: [] })
          .map((r) => ({ ...head, ...strip(r), body: '' }));
      case 'update':
        return fc
          .record({
            changes: fc.record(
              {
                title: text,
                summary: text,
                tags: fc.array(text, { maxLength: 4 }),
                severity: fc.integer({ min: 1, max: 5 }),
                confidence: fc
                  .double({ min: 0, max: 1, noNaN: true })
                  .map((n) => (Object.is(n, -0) ? 0 : n)),
              },
              { requiredKeys: [] },
            ),
            body: text,
          })
          .map(({ changes, body }) => ({
            ...head,
            ...(Object.keys(changes).length === 0 ? {} : { changes }),
            body,
          }));
    }
  });

function strip<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

describe('event files', () => {
  it('parse(render(e)) equals e for every event', () => {
    fc.assert(
      fc.property(event, (e) => {
        expect(parseEvent(renderEvent(e))).toEqual(e);
        expect(parseEvent(Buffer.from(renderEvent(e), 'utf8'))).toEqual(e);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a file that is not exactly what render writes', () => {
    const e: LifecycleEvent = {
      kind: 'event',
      id: '01JDX3A0000000000000000000',
      verb: 'validate',
      target: '01JDX3B0000000000000000000',
      created: '2026-12-02T06:00:00.000Z',
      note: 'held',
      body: '',
    };
    const good = renderEvent(e);
    const bad = [
      good.replace('verb: validate', 'verb: approve'),
      good.replace('note: "held"', 'note: held'),
      good.replace(/^---\nid/, '---\nextra: 1\nid'),
      `${good}trailing body`,
      good.replace('note: "held"', 'reason: "why"'),
      good.replace('created: 2026-12-02T06:00:00.000Z', 'created: yesterday'),
    ];
    for (const b of bad) expect(() => parseEvent(b), b).toThrow(/not a lessons record/);
  });
});

describe('the fold', () => {
  const base: HeuristicRecord = {
    kind: 'heuristic',
    id: '01JDX3B0000000000000000000',
    title: 'Rule',
    domain: 'd',
    tags: [],
    created: '2026-01-01T00:00:00.000Z',
    body: '# Rule\n',
    source: 'observation',
    confidence: 0.5,
  };
  let n = 0;
  const ev = (
    verb: LifecycleEvent['verb'],
    extra: Partial<LifecycleEvent> = {},
  ): LifecycleEvent => ({
    kind: 'event',
    id: `01JDX3C${String(n++).padStart(19, '0')}`,
    verb,
    target: base.id,
    created: base.created,
    body: '',
    ...extra,
  });

  it('gives the same state for the events in any order (the merge of two clones)', () => {
    const events = [ev('validate', { count: 6 }), ev('violate'), ev('demote'), ev('promote')];
    fc.assert(
      fc.property(fc.shuffledSubarray(events, { minLength: 4, maxLength: 4 }), (shuffled) => {
        expect(foldRecord(base, shuffled)).toEqual(foldRecord(base, events));
      }),
    );
  });

  it('is golden by the formula, falls back, and obeys the latest promote or demote', () => {
    const held = [ev('validate', { count: 6 }), ev('violate')];
    expect(foldRecord(base, held)).toMatchObject({
      confidence: posterior(0.5, 6, 1),
      golden: false, // 7/9 = 0.78 < 0.8
    });
    const more = [...held, ev('validate', { count: 4 })];
    expect(foldRecord(base, more).golden).toBe(true); // 11/13, 10 of 11
    expect(foldRecord(base, [...more, ev('violate', { count: 3 })]).golden).toBe(false);
    expect(foldRecord(base, [...more, ev('demote')]).golden).toBe(false);
    expect(foldRecord(base, [...more, ev('demote'), ev('promote')]).golden).toBe(true);
    expect(foldRecord(base, [ev('promote')]).golden).toBe(true);
    expect(foldRecord(base, [ev('promote'), ev('retire')]).golden).toBe(false);
  });

  it('takes an updated confidence as the prior from that point on', () => {
    const state = foldRecord(base, [
      ev('validate', { count: 3 }),
      ev('update', { changes: { confidence: 0.9 } }),
      ev('violate'),
    ]);
    expect(state.confidence).toBeCloseTo((2 * 0.9) / 3, 12);
    expect(state).toMatchObject({ validations: 3, violations: 1 });
  });
});
