/**
 * Reading a save image's JSON sections back into typed state: every field is checked, and a bad one is
 * an ImageError naming the section and the path to it ("section vcpus: [0].regs[3]: …"). Nothing is
 * restored from a state that has not passed through here.
 */

/** A save image that cannot be read: what is wrong and where (the offset or the section and field). */
export class ImageError extends Error {
  override name = "ImageError";
}

export class Fields {
  private constructor(
    private readonly o: Record<string, unknown>,
    /** "section vcpus: [0]" — the prefix of every error. */
    readonly where: string,
  ) {}

  /** `value` as a JSON object, or an ImageError at `where`. */
  static of(value: unknown, where: string): Fields {
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw new ImageError(`${where}: not a JSON object`);
    return new Fields(value as Record<string, unknown>, where);
  }

  /** The path of `key` for messages. */
  at(key: string): string {
    return this.where.endsWith(":") ? `${this.where} ${key}` : `${this.where}.${key}`;
  }

  raw(key: string): unknown {
    if (!(key in this.o)) throw new ImageError(`${this.at(key)}: missing`);
    return this.o[key];
  }

  int(key: string, min: number, max: number): number {
    return checkInt(this.raw(key), this.at(key), min, max);
  }

  u32(key: string): number {
    return this.int(key, 0, 0xffff_ffff);
  }

  /** A count or an instruction total: an integer from 0 to 2^53. */
  count(key: string): number {
    return this.int(key, 0, Number.MAX_SAFE_INTEGER);
  }

  bool(key: string): boolean {
    const v = this.raw(key);
    if (typeof v !== "boolean") throw new ImageError(`${this.at(key)}: ${show(v)} is not true or false`);
    return v;
  }

  str(key: string): string {
    const v = this.raw(key);
    if (typeof v !== "string") throw new ImageError(`${this.at(key)}: ${show(v)} is not a string`);
    return v;
  }

  oneOf<T extends string | number>(key: string, values: readonly T[]): T {
    const v = this.raw(key);
    if (!values.includes(v as T))
      throw new ImageError(
        `${this.at(key)}: ${show(v)} is not one of ${values.map((x) => show(x)).join(", ")}`,
      );
    return v as T;
  }

  obj(key: string): Fields {
    return Fields.of(this.raw(key), this.at(key));
  }

  array(key: string): unknown[] {
    const v = this.raw(key);
    if (!Array.isArray(v)) throw new ImageError(`${this.at(key)}: not an array`);
    return v;
  }

  /** An object of counters: label → non-negative integer. */
  counts(key: string): Record<string, number> {
    const f = this.obj(key);
    const out: Record<string, number> = {};
    for (const k of Object.keys(f.o)) out[k] = f.count(k);
    return out;
  }
}

export function checkInt(v: unknown, where: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    throw new ImageError(`${where}: ${show(v)} is not an integer in ${min}..${max}`);
  return v;
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
