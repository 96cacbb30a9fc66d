// Preloaded into a CLI child process (NODE_OPTIONS=--require ...) to run it with a clock that is
// LESSONS_TEST_CLOCK_SKEW_MS off, the way a machine with a wrong clock runs: Date.now() and
// new Date() are shifted for the whole process. lessons itself reads no such variable; this is
// what faketime would do, which is not installed here.
'use strict';
const skew = Number(process.env.LESSONS_TEST_CLOCK_SKEW_MS || 0);
if (skew !== 0) {
  const RealDate = Date;
  class SkewedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(RealDate.now() + skew);
      else super(...args);
    }
    static now() {
      return RealDate.now() + skew;
    }
  }
  globalThis.Date = SkewedDate;
}
