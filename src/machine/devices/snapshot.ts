/**
 * Checks for a device model's saved state on its way back in (save/restore, later migration): the state
 * arrives as decoded JSON, so every field is checked before any register changes. A failure names the
 * field and what it needed, and the model is left as it was.
 */

export class DeviceStateError extends Error {
  override name = "DeviceStateError";
}

/** `value` as an integer in [min, max], or a DeviceStateError naming `field`. */
export function stateInt(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
    throw new DeviceStateError(`${field}: ${JSON.stringify(value)} is not an integer in ${min}..${max}`);
  return value;
}

export function stateBool(field: string, value: unknown): boolean {
  if (typeof value !== "boolean")
    throw new DeviceStateError(`${field}: ${JSON.stringify(value)} is not a boolean`);
  return value;
}

/** `value` as an array of integers in [0, max]: exactly `count` of them, or `{ atMost }`. */
export function stateInts(
  field: string,
  value: unknown,
  count: number | { atMost: number },
  max: number,
): number[] {
  if (!Array.isArray(value)) throw new DeviceStateError(`${field}: not an array`);
  const ok = typeof count === "number" ? value.length === count : value.length <= count.atMost;
  if (!ok)
    throw new DeviceStateError(
      `${field}: ${value.length} entries, want ${typeof count === "number" ? count : `at most ${count.atMost}`}`,
    );
  return value.map((v, i) => stateInt(`${field}[${i}]`, v, 0, max));
}
