// The property tests of properties.test.ts with many more cases.

import { describe, it } from 'vitest';
import { cliRoundTrip, renderRoundTrip, storeRoundTrip } from './properties.js';

describe('generated input, at length', () => {
  it('round-trips 6,000 generated records through their files', () => {
    renderRoundTrip(3000);
  });

  it('round-trips 250 through a real store', { timeout: 600_000 }, async () => {
    await storeRoundTrip(250);
  });

  it('round-trips 25 through the command line', { timeout: 600_000 }, async () => {
    await cliRoundTrip(25);
  });
});
