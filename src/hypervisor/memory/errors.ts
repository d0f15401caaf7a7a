/**
 * Errors of the memory layer. Each says what was asked, of whom, and why it cannot be done; `code`
 * carries the errno a hypercall would return for it (Xen answers these with -ENOMEM, -EPERM, -EINVAL).
 */

export type MemoryErrno = "ENOMEM" | "EPERM" | "EINVAL";

export class MemoryError extends Error {
  constructor(
    readonly code: MemoryErrno,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = "MemoryError";
  }
}

/** The allocator cannot give `requested` frames because only `available` are free. */
export class OutOfFramesError extends MemoryError {
  constructor(
    readonly requested: number,
    readonly available: number,
    forWhom: string,
  ) {
    super("ENOMEM", `${forWhom} asked for ${requested} frame(s) but only ${available} are free`);
    this.name = "OutOfFramesError";
  }
}

/** Someone tried to free, map or touch a host frame it does not own: an isolation bug, said loudly. */
export class OwnershipError extends MemoryError {
  constructor(message: string) {
    super("EPERM", message);
    this.name = "OwnershipError";
  }
}
