// Colour where it helps a person read (search hits, severity, verify findings), through
// picocolors. Decided per stream: NO_COLOR (non-empty) turns it off, FORCE_COLOR (not 0/false)
// turns it on, otherwise only a terminal gets colour (never a pipe or a file; TERM=dumb none).
// Nothing on the record path loads this module.

import pc from 'picocolors';

export type Colours = ReturnType<typeof pc.createColors>;

export function colourWanted(
  stream: { readonly isTTY?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** Colours for what goes to stdout. */
export function stdoutColours(): Colours {
  return pc.createColors(colourWanted(process.stdout));
}

/** `**match**` markers (from FTS5 highlight) as bold yellow, or left as they are. */
export function highlight(text: string, c: Colours): string {
  if (!c.isColorSupported) return text;
  return text.replace(/\*\*(.+?)\*\*/g, (_, hit: string) => c.bold(c.yellow(hit)));
}

/** A failure's severity: 4-5 red, 3 yellow, lower dim. */
export function severityColour(severity: number | null, text: string, c: Colours): string {
  if (severity === null) return text;
  if (severity >= 4) return c.red(text);
  if (severity === 3) return c.yellow(text);
  return c.dim(text);
}
