/** Parses an integer option of a scenario; throws a message naming the option. */
export function intOption(name: string, v: string | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw new Error(`--${name} wants an integer >= ${min}, not ${v}`);
  return x;
}
