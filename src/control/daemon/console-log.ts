/**
 * A domain's console as the daemon keeps it: output is appended to a bounded log (the last
 * `limit` bytes stay; offsets keep counting from the domain's start, so a client polling with
 * `from` never sees a byte twice), input is queued until the guest's UART reads it, and listeners
 * (the server-sent event streams) hear each chunk of output as it comes.
 *
 * The guest writes one byte at a time from inside the hypervisor's run loop; listeners are told at
 * most once per event-loop turn (a microtask would run inside the run loop's slice), so a stream
 * gets chunks, not bytes.
 */
import type { ConsoleBackend } from "../../machine/devices/console.js";

/** 256 KiB of output per domain. */
export const DEFAULT_CONSOLE_LIMIT = 256 * 1024;

export type ConsoleListener = (chunk: Buffer) => void;

export class ConsoleLog implements ConsoleBackend {
  private buf: Buffer;
  private len = 0;
  /** Total bytes ever written; the log holds [written - len, written). */
  private written = 0;
  private input: number[] = [];
  /** Each listener with the offset its next chunk starts at. */
  private readonly listeners = new Map<ConsoleListener, number>();
  private scheduled = false;

  constructor(readonly limit = DEFAULT_CONSOLE_LIMIT) {
    this.buf = Buffer.alloc(Math.min(limit, 4096));
  }

  write(byte: number): void {
    if (this.len === this.buf.length) {
      if (this.buf.length < this.limit) {
        const bigger = Buffer.alloc(Math.min(this.limit, this.buf.length * 2));
        this.buf.copy(bigger, 0, 0, this.len);
        this.buf = bigger;
      } else {
        // Drop the oldest half at once: amortised O(1) per byte.
        const keep = this.len >> 1;
        this.buf.copy(this.buf, 0, this.len - keep, this.len);
        this.len = keep;
      }
    }
    this.buf[this.len++] = byte & 0xff;
    this.written++;
    if (this.listeners.size > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.notify());
    }
  }

  read(): number {
    return this.input.length > 0 ? this.input.shift()! : -1;
  }

  /** Queues bytes for the guest's console input. */
  feed(bytes: Uint8Array): void {
    for (const b of bytes) this.input.push(b);
  }

  /** Total bytes the guest has written. */
  get end(): number {
    return this.written;
  }

  /** Output from byte offset `from` on (clamped to what is still kept). */
  since(from = 0): { bytes: Buffer; from: number; to: number; dropped: number } {
    const first = this.written - this.len;
    const start = Math.min(Math.max(from, first), this.written);
    return {
      bytes: Buffer.from(this.buf.subarray(start - first, this.len)),
      from: start,
      to: this.written,
      dropped: first,
    };
  }

  text(): string {
    return this.since(0).bytes.toString("utf8");
  }

  /** Hears every later chunk of output; returns the function that stops it. */
  listen(fn: ConsoleListener): () => void {
    this.listeners.set(fn, this.written);
    return () => this.listeners.delete(fn);
  }

  private notify(): void {
    this.scheduled = false;
    for (const [fn, offset] of this.listeners) {
      const { bytes, to } = this.since(offset);
      this.listeners.set(fn, to);
      if (bytes.length > 0) fn(bytes);
    }
  }
}
