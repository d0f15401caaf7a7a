/**
 * The store's end of a guest's ring: Xen's `struct xenstore_domain_interface` (xs_wire.h,
 * docs/misc/xenstore-ring.txt) in a page of the guest's RAM, carrying the wire protocol (wire.ts) to
 * and from the guest's Connection. docs/store-ring.md is the contract; the page:
 *
 *     0     req[1024]        guest → store: request bytes         producer: the guest
 *     1024  rsp[1024]        store → guest: replies, watch events producer: the store
 *     2048  req_cons  2052 req_prod  2056 rsp_cons  2060 rsp_prod   (uint32, free-running, LE)
 *     2064  server_features  bit 0 reconnection, bit 1 error indicator (both offered)
 *     2068  connection       0 connected; the guest writes 1 to ask for a reset, the store answers 0
 *     2072  error            0, or why the store stopped serving: 1 COMM, 2 RINGIDX, 3 PROTO
 *
 * Byte x of a stream is at x mod 1024 of its buffer. Messages are byte streams, so one may arrive (or
 * leave) in several pieces: a request is assembled here until its header's `len` bytes are in.
 *
 * kick() runs whenever the guest signals its event channel and whenever a watch event is queued for
 * the guest: it moves queued output into rsp, reads requests from req while little output waits
 * (back-pressure: a guest that does not read its replies stops being served, not the store), runs
 * them as the guest's Connection (its permissions, its quotas), and signals the guest when it moved
 * anything. It never trusts the page: the indices are re-read and checked on every pass.
 *
 * A hostile or broken guest — indices more than a ring apart (RINGIDX), a header with `len` over
 * XENSTORE_PAYLOAD_MAX or an unknown type (PROTO), a page it made unwritable (COMM) — gets the error
 * indicator set and is no longer served: its watches and transactions are dropped, nothing else is
 * affected. A reconnection request (connection = 1) resets the ring and serves it again.
 */
import type { Connection } from "./connection.js";
import { handleRequest, watchEventMessage } from "./protocol.js";
import type { WatchEvent } from "./watch.js";
import { decodeMessage, encodeMessage, HEADER_SIZE, WireError, XENSTORE_PAYLOAD_MAX } from "./wire.js";

export const XENSTORE_RING_SIZE = 1024;
export const RING = {
  REQ: 0,
  RSP: 1024,
  REQ_CONS: 2048,
  REQ_PROD: 2052,
  RSP_CONS: 2056,
  RSP_PROD: 2060,
  SERVER_FEATURES: 2064,
  CONNECTION: 2068,
  ERROR: 2072,
} as const;
const CONTROL_SIZE = 28;

export const XENSTORE_SERVER_FEATURE_RECONNECTION = 1;
export const XENSTORE_SERVER_FEATURE_ERROR = 2;
export const XENSTORE_CONNECTED = 0;
export const XENSTORE_RECONNECT = 1;
export const XenstoreError = { NONE: 0, COMM: 1, RINGIDX: 2, PROTO: 3 } as const;
export type XenstoreErrorCode = (typeof XenstoreError)[keyof typeof XenstoreError];

/** Output bytes waiting past which no more requests are read (two largest messages). */
const OUTPUT_LIMIT = 2 * (HEADER_SIZE + XENSTORE_PAYLOAD_MAX);
/** Watch events waiting for the ring past which new ones are dropped (and counted). */
export const MAX_QUEUED_EVENTS = 256;

/**
 * What a backend holds between the ring and the guest's connection, which a save must carry (the ring's
 * indices are in the page, so in the guest's memory, but these bytes are past them): a request read
 * in part (req_cons is already past its bytes), and replies and events queued for rsp that did not
 * fit yet (the first possibly in part). Watch events not yet encoded are not here: a restored
 * domain's watches fire once each anyway.
 */
export interface RingBackendState {
  input: Uint8Array;
  output: Uint8Array;
}

/** The most output a backend can have queued: one message past OUTPUT_LIMIT. */
const MAX_SAVED_OUTPUT = OUTPUT_LIMIT + HEADER_SIZE + XENSTORE_PAYLOAD_MAX;

/** The ring's page as the backend sees it (the hypervisor's SharedPage). */
export interface RingPage {
  read(offset: number, n: number): Uint8Array | undefined;
  /** false: the page cannot be written for the guest now. */
  write(offset: number, bytes: Uint8Array): boolean;
}

export interface RingBackendOptions {
  /** Signals the guest (its event channel). */
  notify: () => void;
  /** Told once per error, with the reason (the daemon's log). */
  onError?: (why: string) => void;
}

class RingFault extends Error {
  constructor(
    readonly code: XenstoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export class RingBackend {
  /** The reason serving stopped, while it is stopped. */
  error: string | undefined;
  /** Requests answered and watch events sent, and events dropped because the guest did not read them. */
  readonly stats = { requests: 0, events: 0, droppedEvents: 0 };
  private readonly input = new Uint8Array(HEADER_SIZE + XENSTORE_PAYLOAD_MAX);
  private inputLength = 0;
  private readonly output: Uint8Array[] = [];
  private outputOffset = 0;
  private outputBytes = 0;
  private readonly events: WatchEvent[] = [];
  private running = false;
  private again = false;
  private closed = false;

  constructor(
    readonly conn: Connection,
    private readonly page: RingPage,
    private readonly opts: RingBackendOptions,
  ) {
    const control = new Uint8Array(12);
    const v = new DataView(control.buffer);
    v.setUint32(0, XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR, true);
    v.setUint32(4, XENSTORE_CONNECTED, true);
    v.setUint32(8, XenstoreError.NONE, true);
    if (!page.write(RING.SERVER_FEATURES, control))
      this.stop(XenstoreError.COMM, "the ring page cannot be written");
    conn.onEvent = () => this.kick();
  }

  /** Whether the ring is served (no error since the last reset). */
  get connected(): boolean {
    return this.error === undefined && !this.closed;
  }

  /** The guest signalled, or an event waits: serve the ring until nothing more moves. */
  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true; // an event queued while a request runs: sent after its reply
      return;
    }
    this.running = true;
    let moved = false;
    try {
      do {
        this.again = false;
        moved = this.pass() || moved;
      } while (this.again);
    } catch (e) {
      // A bug here must not take the hypervisor down with it (kick runs inside the guest's exit).
      if (e instanceof RingFault) this.stop(e.code, e.message);
      else this.stop(XenstoreError.COMM, `internal error: ${(e as Error).stack ?? e}`);
      moved = true;
    } finally {
      this.running = false;
    }
    if (moved) this.opts.notify();
  }

  /** The bytes in flight between the ring and the connection (see RingBackendState), for a save. */
  saveState(): RingBackendState {
    const output = new Uint8Array(this.outputBytes);
    let at = 0;
    for (const [i, msg] of this.output.entries()) {
      const part = i === 0 ? msg.subarray(this.outputOffset) : msg;
      output.set(part, at);
      at += part.length;
    }
    return { input: this.input.slice(0, this.inputLength), output };
  }

  /**
   * Takes back a saved RingBackendState before the ring is first served (a restored domain's new
   * backend, over the same page): the partial request is completed from the ring, the queued output
   * goes out as room appears. Returns why it cannot be taken (nothing changes then), or undefined.
   */
  restoreState(s: RingBackendState): string | undefined {
    if (s.input.length > this.input.length) return `input: ${s.input.length} bytes, more than one message`;
    if (s.input.length >= HEADER_SIZE) {
      try {
        if (decodeMessage(s.input) !== undefined) return "input: a whole request, not a part of one";
      } catch (e) {
        if (e instanceof WireError) return `input: ${e.message}`;
        throw e;
      }
    }
    if (s.output.length > MAX_SAVED_OUTPUT)
      return `output: ${s.output.length} bytes, more than the ${MAX_SAVED_OUTPUT} a backend queues`;
    this.input.set(s.input);
    this.inputLength = s.input.length;
    this.output.length = 0;
    if (s.output.length > 0) this.output.push(s.output.slice());
    this.outputOffset = 0;
    this.outputBytes = s.output.length;
    return undefined;
  }

  /** The domain is gone: no more work, no more events. */
  close(): void {
    this.closed = true;
    this.conn.onEvent = undefined;
  }

  /** One round of output, input, output; true when any byte moved (or the ring was reset). */
  private pass(): boolean {
    const c = this.control();
    if (c.getUint32(RING.CONNECTION - RING.REQ_CONS, true) === XENSTORE_RECONNECT) {
      this.reset(c);
      return true;
    }
    if (this.error !== undefined) return false;
    this.takeEvents();
    let moved = false;
    for (;;) {
      const wrote = this.writeOutput();
      const read = this.readInput();
      moved ||= wrote || read;
      if (!wrote && !read) return moved;
    }
  }

  private control(): DataView {
    const bytes = this.page.read(RING.REQ_CONS, CONTROL_SIZE);
    if (bytes === undefined)
      throw new RingFault(XenstoreError.COMM, "the ring page is not the guest's RAM any more");
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private indices(consAt: number, prodAt: number, what: string): { cons: number; prod: number } {
    const c = this.control();
    const cons = c.getUint32(consAt - RING.REQ_CONS, true);
    const prod = c.getUint32(prodAt - RING.REQ_CONS, true);
    if ((prod - cons) >>> 0 > XENSTORE_RING_SIZE)
      throw new RingFault(
        XenstoreError.RINGIDX,
        `${what} indices are ${(prod - cons) >>> 0} bytes apart (cons ${cons}, prod ${prod}): more than the ring`,
      );
    return { cons, prod };
  }

  private putIndex(at: number, value: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value >>> 0, true);
    if (!this.page.write(at, b)) throw new RingFault(XenstoreError.COMM, "the ring page cannot be written");
  }

  /** Queued replies and events into rsp, as far as there is room. */
  private writeOutput(): boolean {
    this.fillFromEvents();
    if (this.outputBytes === 0) return false;
    const { cons, prod } = this.indices(RING.RSP_CONS, RING.RSP_PROD, "rsp");
    let at = prod;
    let room = XENSTORE_RING_SIZE - ((prod - cons) >>> 0);
    while (room > 0 && this.output.length > 0) {
      const msg = this.output[0]!;
      const offset = at % XENSTORE_RING_SIZE;
      const n = Math.min(room, msg.length - this.outputOffset, XENSTORE_RING_SIZE - offset);
      if (!this.page.write(RING.RSP + offset, msg.subarray(this.outputOffset, this.outputOffset + n)))
        throw new RingFault(XenstoreError.COMM, "the ring page cannot be written");
      at = (at + n) >>> 0;
      room -= n;
      this.outputBytes -= n;
      this.outputOffset += n;
      if (this.outputOffset === msg.length) {
        this.output.shift();
        this.outputOffset = 0;
      }
    }
    if (at === prod) return false;
    this.putIndex(RING.RSP_PROD, at);
    return true;
  }

  /** Request bytes from req, running each request once it is whole; stops while output waits. */
  private readInput(): boolean {
    if (this.outputBytes >= OUTPUT_LIMIT) return false;
    const { cons, prod } = this.indices(RING.REQ_CONS, RING.REQ_PROD, "req");
    let at = cons;
    while (at !== prod && this.outputBytes < OUTPUT_LIMIT) {
      const need = this.inputLength < HEADER_SIZE ? HEADER_SIZE - this.inputLength : this.bodyRemaining();
      const offset = at % XENSTORE_RING_SIZE;
      const n = Math.min(need, (prod - at) >>> 0, XENSTORE_RING_SIZE - offset);
      const bytes = this.page.read(RING.REQ + offset, n);
      if (bytes === undefined)
        throw new RingFault(XenstoreError.COMM, "the ring page is not the guest's RAM any more");
      this.input.set(bytes, this.inputLength);
      this.inputLength += n;
      at = (at + n) >>> 0;
      if (this.inputLength === HEADER_SIZE) this.checkHeader();
      if (this.inputLength >= HEADER_SIZE && this.bodyRemaining() === 0) this.runRequest();
    }
    if (at === cons) return false;
    this.putIndex(RING.REQ_CONS, at);
    return true;
  }

  private bodyRemaining(): number {
    const len = new DataView(this.input.buffer).getUint32(12, true);
    return HEADER_SIZE + len - this.inputLength;
  }

  /** A header that cannot start a message ends the connection: what follows cannot be trusted. */
  private checkHeader(): void {
    try {
      decodeMessage(this.input.subarray(0, HEADER_SIZE));
    } catch (e) {
      if (e instanceof WireError)
        throw new RingFault(XenstoreError.PROTO, `protocol violation: ${e.message}`);
      throw e;
    }
  }

  private runRequest(): void {
    const decoded = decodeMessage(this.input.subarray(0, this.inputLength));
    this.inputLength = 0;
    if (decoded === undefined) throw new Error("ring backend: a whole request did not decode");
    this.stats.requests++;
    this.queue(encodeMessage(handleRequest(this.conn, decoded.message)));
    this.takeEvents(); // events the request caused go after its reply
  }

  private queue(bytes: Uint8Array): void {
    this.output.push(bytes);
    this.outputBytes += bytes.length;
  }

  private takeEvents(): void {
    for (const e of this.conn.takeEvents()) {
      if (this.events.length >= MAX_QUEUED_EVENTS) this.stats.droppedEvents++;
      else this.events.push(e);
    }
  }

  private fillFromEvents(): void {
    this.takeEvents();
    while (this.events.length > 0 && this.outputBytes < OUTPUT_LIMIT) {
      this.queue(encodeMessage(watchEventMessage(this.events.shift()!)));
      this.stats.events++;
    }
  }

  /** Stops serving: the error indicator says why, the connection's watches and transactions go. */
  private stop(code: XenstoreErrorCode, why: string): void {
    this.error = why;
    this.dropState();
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, code, true);
    this.page.write(RING.ERROR, b); // best effort: the page may be what failed
    this.opts.onError?.(why);
  }

  /** The guest asked for a reconnection: empty queues, nothing in flight, no watches, serving again. */
  private reset(c: DataView): void {
    this.dropState();
    this.error = undefined;
    const get = (at: number) => c.getUint32(at - RING.REQ_CONS, true);
    this.putIndex(RING.REQ_CONS, get(RING.REQ_PROD));
    this.putIndex(RING.RSP_PROD, get(RING.RSP_CONS));
    this.putIndex(RING.ERROR, XenstoreError.NONE);
    this.putIndex(RING.CONNECTION, XENSTORE_CONNECTED);
  }

  private dropState(): void {
    this.inputLength = 0;
    this.output.length = 0;
    this.outputOffset = this.outputBytes = 0;
    this.events.length = 0;
    this.conn.takeEvents();
    this.conn.resetWatches();
  }
}
