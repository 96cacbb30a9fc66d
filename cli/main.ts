// The full command line (yargs), for everything the record fast path does not take: every
// command but a record with plain flags, help, and records when the fast path is not built.
// Built as dist/cli/main.cjs, which the bins (launch.ts) load only when they need it.

export type Bin = 'lessons' | 'record-failure' | 'record-heuristic';

export async function main(bin: Bin, argv: readonly string[]): Promise<void> {
  if (bin === 'lessons') {
    await (await import('./program.js')).runLessons(argv);
    return;
  }
  const [{ run }, commands] = await Promise.all([
    import('./run.js'),
    import('./commands/record.js'),
  ]);
  const command =
    bin === 'record-failure' ? commands.recordFailureCommand : commands.recordHeuristicCommand;
  await run(bin, argv, (yargs, track) => yargs.command(track({ ...command, command: '$0' })));
}
