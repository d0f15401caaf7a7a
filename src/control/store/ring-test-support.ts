/**
 * The guest's side of a store ring for tests (ring-backend.test.ts, the daemon's save tests): a ring
 * page in plain memory that writes requests into req and reads what the backend put in rsp.
 */
import { encodeRequest, type Request } from "./requests.js";
import { RING, type RingBackend, type RingPage, XENSTORE_RING_SIZE } from "./ring-backend.js";
import { decodeMessage, encodeMessage, type XsMessage } from "./wire.js";

/** A ring page in plain memory, with the guest's side of the protocol. */
export class FakeGuest implements RingPage {
  readonly mem = new Uint8Array(4096);
  readonly view = new DataView(this.mem.buffer);
  writable = true;
  notified = 0;
  private received = new Uint8Array(0);
  private reqId = 1;

  read(offset: number, n: number): Uint8Array {
    return this.mem.slice(offset, offset + n);
  }
  write(offset: number, bytes: Uint8Array): boolean {
    if (!this.writable) return false;
    this.mem.set(bytes, offset);
    return true;
  }
  u32(at: number): number {
    return this.view.getUint32(at, true);
  }
  set(at: number, v: number): void {
    this.view.setUint32(at, v >>> 0, true);
  }

  /** Puts as much of `bytes` into req as fits; returns how many went in. */
  put(bytes: Uint8Array): number {
    const cons = this.u32(RING.REQ_CONS);
    let prod = this.u32(RING.REQ_PROD);
    let n = 0;
    while (n < bytes.length && (prod - cons) >>> 0 < XENSTORE_RING_SIZE) {
      this.mem[RING.REQ + (prod % XENSTORE_RING_SIZE)] = bytes[n++]!;
      prod = (prod + 1) >>> 0;
    }
    this.set(RING.REQ_PROD, prod);
    return n;
  }

  /** Everything waiting in rsp, consumed. */
  take(): void {
    let cons = this.u32(RING.RSP_CONS);
    const prod = this.u32(RING.RSP_PROD);
    const got: number[] = [];
    while (cons !== prod) {
      got.push(this.mem[RING.RSP + (cons % XENSTORE_RING_SIZE)]!);
      cons = (cons + 1) >>> 0;
    }
    this.set(RING.RSP_CONS, cons);
    const all = new Uint8Array(this.received.length + got.length);
    all.set(this.received);
    all.set(got, this.received.length);
    this.received = all;
  }

  /** The whole messages received so far. */
  messages(): XsMessage[] {
    const out: XsMessage[] = [];
    for (;;) {
      const d = decodeMessage(this.received);
      if (d === undefined) return out;
      out.push(d.message);
      this.received = this.received.slice(d.size);
    }
  }

  /** Sends one request (kicking the backend as often as the ring needs) and returns what came back. */
  request(b: RingBackend, req: Request, txId = 0): XsMessage[] {
    const bytes = encodeMessage(encodeRequest(req, this.reqId++, txId));
    let sent = 0;
    while (sent < bytes.length) {
      sent += this.put(bytes.subarray(sent));
      b.kick();
      this.take();
      b.kick(); // room in rsp again: the rest of a long reply
      this.take();
    }
    return this.messages();
  }
}
