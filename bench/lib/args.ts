/**
 * Command-line options of the benchmarks: `--name value`.
 *
 * @example
 * const PLAYERS = numOpt("players", 2000);
 * const BIN = strOpt("bin", "dist/gauntlet");
 */
const args = process.argv.slice(2);

/** The value after `--name`, or `def` when the flag (or its value) is missing. */
export function strOpt(name: string, def: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : def;
}

export function numOpt(name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : def;
}
