/** Step summaries as Buildbot words them (util.join_list, util.command_to_string). */

/** A description (string or list of words) as one string. */
export function joinList(v: unknown): string {
  if (Array.isArray(v)) return v.map((x) => String(x)).join(' ');
  return v === undefined || v === null ? '' : String(v);
}

/** `'make all'`, or `'make -j4 ...'` for three words or more; undefined for no words. */
export function commandToString(command: unknown): string | undefined {
  let words: unknown[];
  if (typeof command === 'string') words = command.split(/\s+/).filter(Boolean);
  else if (Array.isArray(command)) words = command.flat(Infinity);
  else return undefined;
  const strings = words.filter((w): w is string => typeof w === 'string');
  if (strings.length === 0) return undefined;
  return strings.length < 3 ? `'${strings.join(' ')}'` : `'${strings.slice(0, 2).join(' ')} ...'`;
}
