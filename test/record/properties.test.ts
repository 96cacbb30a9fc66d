// fast-check over the validators, the renderer and the parser (properties.ts): 1,200 generated
// records in process, 120 through a real store, 12 through the command line.

import { describe, it } from 'vitest';
import { cliRoundTrip, renderRoundTrip, storeRoundTrip } from './properties.js';

describe('generated input', () => {
  it('round-trips every accepted record through its file, and refuses the rest naming a field', () => {
    renderRoundTrip(600);
  });

  it('round-trips accepted records file -> row -> show exactly, and leaves the store byte-identical on refusal', async () => {
    await storeRoundTrip(120);
  });

  it('does the same through record-failure and show --json', async () => {
    await cliRoundTrip(12);
  });
});
