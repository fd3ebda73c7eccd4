/** Where the CLI writes: the process's streams, or buffers in tests. */
export class Output {
  constructor(
    readonly stdout: (text: string) => void,
    readonly stderr: (text: string) => void,
    readonly quiet = false,
  ) {}

  static process(): Output {
    return new Output(
      (t) => void process.stdout.write(t),
      (t) => void process.stderr.write(t),
    );
  }

  /** A line of progress: suppressed by --quiet. */
  info(line: string, quiet = this.quiet): void {
    if (!quiet) this.stdout(`${line}\n`);
  }
}
