/**
 * The syntax tree of an xl.cfg-style file, as libxlu (Xen's config library) sees it: a sequence of
 * assignments whose values are strings, numbers, or lists of values (lists may nest). Every node keeps
 * its position so later passes can say where a bad value is.
 *
 * Unlike libxlu, which keeps every atom as a string, numbers stay numbers here: `memory = 512` and
 * `memory = "512"` are different nodes, and the validator decides what each key accepts.
 */
import type { Position } from "./errors.js";

export interface StringValue {
  readonly kind: "string";
  /** The text after escapes are decoded. */
  readonly value: string;
  readonly pos: Position;
}

export interface NumberValue {
  readonly kind: "number";
  /** The literal as written (`0x10`, `020`, `16`). */
  readonly text: string;
  readonly value: number;
  readonly pos: Position;
}

export interface ListValue {
  readonly kind: "list";
  readonly items: readonly Value[];
  readonly pos: Position;
}

export type Value = StringValue | NumberValue | ListValue;

/** `key = value` replaces an earlier value; `key += value` appends to it (strings or lists). */
export type AssignOp = "=" | "+=";

export interface Assignment {
  readonly key: string;
  readonly op: AssignOp;
  readonly value: Value;
  /** Position of the key. */
  readonly pos: Position;
}

export interface ConfigFile {
  /** The name errors use (as given by the caller, usually the path). */
  readonly file: string;
  readonly assignments: readonly Assignment[];
}
