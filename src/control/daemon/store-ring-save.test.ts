/**
 * A store ring across a save: what the store's backend holds past the ring's indices — a request it
 * had read in part (req_cons already past those bytes) and replies that did not fit in rsp yet — goes
 * in the image with the guest's watches and nodes, and the restored domain's new backend (another
 * store, another domid, the same page: guest memory) finishes that request and delivers those replies,
 * as if the domain had not moved. Without it the guest's next bytes would start a message in the
 * middle and the ring would stop with a protocol error.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Domain } from "../../hypervisor/domain.js";
import { encodeRequest } from "../store/requests.js";
import { RING, RingBackend } from "../store/ring-backend.js";
import { FakeGuest } from "../store/ring-test-support.js";
import { Store } from "../store/store.js";
import { writeDomainTree } from "../store/well-known.js";
import { encodeMessage, HEADER_SIZE, type XsMessage, XsType } from "../store/wire.js";
import {
  type GuestStoreState,
  parseGuestStore,
  restoreGuestStore,
  type StoreRingLink,
  saveGuestStore,
} from "./store-ring.js";

/** A host's store with domain `domid` introduced and its ring served over `page`. */
function host(domid: number, page: FakeGuest) {
  const store = new Store();
  const tools = store.connect(0);
  const tree = writeDomainTree(tools, {
    domid,
    name: "guest",
    uuid: "00000000-0000-4000-8000-000000000001",
    memoryKiB: 32768,
    vcpus: 1,
  });
  assert.ok(tree.ok);
  const conn = tools.introduce(domid, 0x81fff, 1);
  assert.ok(conn.ok);
  const errors: string[] = [];
  const backend = new RingBackend(conn.value, page, {
    notify: () => page.notified++,
    onError: (why) => errors.push(why),
  });
  const link: StoreRingLink = { backend, connection: conn.value, disconnect() {} };
  return { tools, backend, link, errors, domain: { id: domid } as Domain };
}

/** The image's way: saved, through JSON, checked as a restore checks it. */
function throughImage(s: GuestStoreState): GuestStoreState {
  const parsed = parseGuestStore(JSON.parse(JSON.stringify(s)));
  assert.notEqual(typeof parsed, "string", String(parsed));
  return parsed as GuestStoreState;
}

const text = (m: XsMessage) => new TextDecoder().decode(m.payload);

/** Reads and kicks (as the guest signals after reading) until nothing more moves; the whole messages. */
function drain(guest: FakeGuest, backend: RingBackend): XsMessage[] {
  for (;;) {
    guest.take();
    const prod = guest.u32(RING.RSP_PROD);
    backend.kick();
    if (guest.u32(RING.RSP_PROD) === prod) break;
  }
  return guest.messages();
}

describe("the store ring across a save", () => {
  it("a request half read when the domain is saved is answered once, whole, after the restore", () => {
    const guest = new FakeGuest();
    const a = host(1, guest);
    assert.equal(text(guest.request(a.backend, { op: "WATCH", path: "data", token: "t" })[0]!), "OK\0");
    drain(guest, a.backend); // the watch's first event
    const value = "written across a save";
    const bytes = new TextEncoder().encode(value);
    const write = encodeMessage(encodeRequest({ op: "WRITE", path: "data/x", value: bytes }, 77));
    const half = HEADER_SIZE + 5;
    guest.put(write.subarray(0, half));
    a.backend.kick();
    assert.equal(guest.u32(RING.REQ_CONS), guest.u32(RING.REQ_PROD), "the store took the bytes there were");
    const saved = throughImage(saveGuestStore(a.tools, a.domain, a.link));
    assert.equal(Buffer.from(saved.ring?.input ?? "", "base64").length, half);

    // Restored as domain 3 on another store, over the same page.
    const b = host(3, guest);
    assert.deepEqual(restoreGuestStore(b.link, saved), []);
    guest.put(write.subarray(half));
    const got = drain(guest, b.backend);
    assert.deepEqual(b.errors, []);
    const replies = got.filter((m) => m.type !== XsType.WATCH_EVENT);
    assert.deepEqual(
      replies.map((m) => [m.type, m.reqId, text(m)]),
      [[XsType.WRITE, 77, "OK\0"]],
    );
    const stored = b.tools.readString("/local/domain/3/data/x");
    assert.ok(stored.ok && stored.value === value, JSON.stringify(stored));
    assert.ok(got.some((m) => m.type === XsType.WATCH_EVENT && text(m) === "data/x\0t\0"));

    // What a restore without those bytes does: the rest of the request is read as a header.
    const lost = new FakeGuest();
    const c = host(1, lost);
    lost.put(write.subarray(0, half));
    c.backend.kick();
    const d = host(3, lost);
    const { ring: _, ...withoutRing } = throughImage(saveGuestStore(c.tools, c.domain, c.link));
    assert.deepEqual(restoreGuestStore(d.link, withoutRing), []);
    lost.put(write.subarray(half));
    drain(lost, d.backend);
    assert.equal(d.backend.connected, false);
    assert.match(d.errors[0] ?? "", /protocol violation/);
  });

  it("a reply that did not fit in rsp when the domain is saved reaches the guest after the restore", () => {
    const guest = new FakeGuest();
    const a = host(1, guest);
    const big = new Uint8Array(2000).map((_, i) => 0x61 + (i % 26));
    assert.equal(text(guest.request(a.backend, { op: "WRITE", path: "data/big", value: big })[0]!), "OK\0");
    guest.put(encodeMessage(encodeRequest({ op: "READ", path: "data/big" }, 78)));
    a.backend.kick(); // the reply fills rsp; the guest reads nothing before the save
    const saved = throughImage(saveGuestStore(a.tools, a.domain, a.link));
    const queued = Buffer.from(saved.ring?.output ?? "", "base64").length;
    assert.equal(queued, HEADER_SIZE + big.length - 1024, "what did not fit in rsp");

    const b = host(3, guest);
    assert.deepEqual(restoreGuestStore(b.link, saved), []);
    const got = drain(guest, b.backend);
    assert.deepEqual(b.errors, []);
    assert.deepEqual(
      got.map((m) => [m.type, m.reqId]),
      [[XsType.READ, 78]],
    );
    assert.deepEqual(got[0]!.payload, big);
  });

  it("refuses saved bytes that cannot be in flight, changing nothing", () => {
    const guest = new FakeGuest();
    const { backend } = host(1, guest);
    const whole = encodeMessage(encodeRequest({ op: "READ", path: "name" }, 5));
    const bad = new Uint8Array(HEADER_SIZE).fill(0xff);
    const none = new Uint8Array(0);
    assert.match(backend.restoreState({ input: whole, output: none }) ?? "", /a whole request/);
    assert.match(backend.restoreState({ input: bad, output: none }) ?? "", /^input: .*len/);
    assert.match(backend.restoreState({ input: none, output: new Uint8Array(20_000) }) ?? "", /^output:/);
    assert.deepEqual(backend.saveState(), { input: none, output: none });
    assert.equal(
      parseGuestStore({ watches: [], nodes: [], ring: { input: "%%", output: "" } }),
      "ring: not {input, output} in base64",
    );
  });
});
