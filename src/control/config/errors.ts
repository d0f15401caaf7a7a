/**
 * Config errors: every problem names the file, the line and (when one is involved) the key, in the
 * form compilers and xl use, so editors can jump to it:
 *
 *   vm.cfg:7: memory: expected an integer number of MiB, got "lots"
 *   vm.cfg:3:12: unterminated string
 *
 * Syntax problems carry a column; problems about a key's value name the key. A config with several
 * problems reports them all at once (one per line), so the user fixes the file in one pass.
 */

/** Where something is in a config file: 1-based line and column. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

export interface ConfigProblem {
  readonly file: string;
  readonly pos: Position;
  /** The key the problem is about, when there is one. */
  readonly key?: string;
  readonly message: string;
}

/** One problem as one line of text. */
export function formatProblem(p: ConfigProblem): string {
  if (p.key !== undefined) return `${p.file}:${p.pos.line}: ${p.key}: ${p.message}`;
  return `${p.file}:${p.pos.line}:${p.pos.column}: ${p.message}`;
}

/** Thrown when a config cannot be used; `problems` lists every one found, in file order. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const sorted = [...problems].sort((a, b) => a.pos.line - b.pos.line || a.pos.column - b.pos.column);
    super(sorted.map(formatProblem).join("\n"));
    this.name = "ConfigError";
    this.problems = sorted;
  }
}

/** Collects problems while a pass carries on, so one run reports them all. */
export class Problems {
  readonly list: ConfigProblem[] = [];

  constructor(readonly file: string) {}

  add(pos: Position, message: string, key?: string): void {
    this.list.push(
      key === undefined ? { file: this.file, pos, message } : { file: this.file, pos, key, message },
    );
  }

  /** Throws a ConfigError if anything was collected. */
  throwIfAny(): void {
    if (this.list.length > 0) throw new ConfigError(this.list);
  }
}
