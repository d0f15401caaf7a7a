import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeRequest, type Request } from "./requests.js";
import {
  MAX_QUEUED_EVENTS,
  RING,
  RingBackend,
  XENSTORE_RING_SIZE,
  XENSTORE_SERVER_FEATURE_ERROR,
  XENSTORE_SERVER_FEATURE_RECONNECTION,
  XenstoreError,
} from "./ring-backend.js";
import { FakeGuest } from "./ring-test-support.js";
import { Store } from "./store.js";
import { writeDomainTree } from "./well-known.js";
import { encodeMessage, nulStrings, type XsMessage, XsType } from "./wire.js";

const text = (m: XsMessage) => new TextDecoder().decode(m.payload);

function setup() {
  const store = new Store();
  const tools = store.connect(0);
  for (const [domid, name] of [
    [1, "guest"],
    [2, "other"],
  ] as const) {
    const r = writeDomainTree(tools, {
      domid,
      name,
      uuid: `00000000-0000-4000-8000-00000000000${domid}`,
      memoryKiB: 32768,
      vcpus: 1,
    });
    assert.ok(r.ok);
  }
  const conn = tools.introduce(1, 0x81fff, 1);
  assert.ok(conn.ok);
  const guest = new FakeGuest();
  const errors: string[] = [];
  const backend = new RingBackend(conn.value, guest, {
    notify: () => guest.notified++,
    onError: (why) => errors.push(why),
  });
  return { store, tools, guest, backend, errors };
}

describe("RingBackend", () => {
  it("offers reconnection and the error indicator, connected and without error", () => {
    const { guest, backend } = setup();
    assert.equal(
      guest.u32(RING.SERVER_FEATURES),
      XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR,
    );
    assert.equal(guest.u32(RING.CONNECTION), 0);
    assert.equal(guest.u32(RING.ERROR), 0);
    assert.equal(backend.connected, true);
  });

  it("answers every request the guest kernel makes, as the guest, with its permissions", () => {
    const { guest, backend, tools } = setup();
    const one = (req: Request, txId = 0) => {
      const got = guest.request(backend, req, txId);
      assert.equal(got.length, 1, `${req.op}: one reply`);
      return got[0]!;
    };
    const name = one({ op: "READ", path: "name" });
    assert.equal(name.type, XsType.READ);
    assert.equal(text(name), "guest");
    assert.equal(text(one({ op: "READ", path: "/local/domain/1/domid" })), "1");

    assert.equal(
      text(one({ op: "WRITE", path: "data/x", value: nulStrings(["hello"]).subarray(0, 5) })),
      "OK\0",
    );
    assert.deepEqual(tools.readString("/local/domain/1/data/x"), { ok: true, value: "hello" });
    assert.equal(text(one({ op: "MKDIR", path: "data/dir" })), "OK\0");
    assert.equal(text(one({ op: "DIRECTORY", path: "data" })), "x\0dir\0");
    assert.equal(text(one({ op: "GET_PERMS", path: "data/x" })), "n1\0r0\0");
    assert.equal(text(one({ op: "RM", path: "data/dir" })), "OK\0");
    assert.equal(text(one({ op: "DIRECTORY", path: "data" })), "x\0");

    const tx = one({ op: "TRANSACTION_START" });
    assert.equal(tx.type, XsType.TRANSACTION_START);
    const id = Number(text(tx).replace("\0", ""));
    assert.ok(id > 0);
    assert.equal(
      text(one({ op: "WRITE", path: "data/y", value: new TextEncoder().encode("in tx") }, id)),
      "OK\0",
    );
    assert.equal(tools.read("/local/domain/1/data/y").ok, false, "not visible before the commit");
    assert.equal(text(one({ op: "TRANSACTION_END", commit: true }, id)), "OK\0");
    assert.equal(tools.readString("/local/domain/1/data/y").ok, true);

    const denied = one({ op: "READ", path: "/local/domain/2/name" });
    assert.equal(denied.type, XsType.ERROR);
    assert.equal(text(denied), "EACCES\0");
    const missing = one({ op: "READ", path: "nothing" });
    assert.equal(text(missing), "ENOENT\0");
    assert.equal(text(one({ op: "WRITE", path: "/local/domain/2/x", value: new Uint8Array(1) })), "EACCES\0");
    assert.equal(text(one({ op: "INTRODUCE", domid: 5, mfn: 1, evtchn: 1 })), "EACCES\0");
    assert.equal(text(one({ op: "WRITE", path: "name", value: new Uint8Array(1) })), "EACCES\0");
    assert.equal(guest.u32(RING.ERROR), 0, "refused requests are answers, not ring errors");
  });

  it("sends a watch's first event after the WATCH reply, then one per change, and stops on UNWATCH", () => {
    const { guest, backend, tools } = setup();
    const set = guest.request(backend, { op: "WATCH", path: "control/shutdown", token: "ctl" });
    assert.deepEqual(
      set.map((m) => [m.type, text(m)]),
      [
        [XsType.WATCH, "OK\0"],
        [XsType.WATCH_EVENT, "control/shutdown\0ctl\0"],
      ],
    );
    const before = guest.notified;
    tools.write("/local/domain/1/control/shutdown", "poweroff");
    assert.ok(guest.notified > before, "the guest is signalled when the event is in its ring");
    guest.take();
    assert.deepEqual(
      guest.messages().map((m) => [m.type, m.reqId, text(m)]),
      [[XsType.WATCH_EVENT, 0, "control/shutdown\0ctl\0"]],
    );
    // Its own write of the node fires its own watch, after the reply.
    const own = guest.request(backend, { op: "WRITE", path: "control/shutdown", value: new Uint8Array(0) });
    assert.deepEqual(
      own.map((m) => m.type),
      [XsType.WRITE, XsType.WATCH_EVENT],
    );
    guest.request(backend, { op: "UNWATCH", path: "control/shutdown", token: "ctl" });
    tools.write("/local/domain/1/control/shutdown", "reboot");
    guest.take();
    assert.deepEqual(guest.messages(), []);
    // A domain's watch on another's subtree hears nothing of it.
    guest.request(backend, { op: "WATCH", path: "/local/domain/2", token: "spy" });
    tools.write("/local/domain/2/data", "secret");
    guest.take();
    assert.deepEqual(guest.messages(), []);
  });

  it("carries a request and a reply longer than the ring in pieces", () => {
    const { guest, backend, tools } = setup();
    const value = new Uint8Array(2000).map((_, i) => 0x41 + (i % 26));
    const w = guest.request(backend, { op: "WRITE", path: "data/big", value });
    assert.equal(text(w[0]!), "OK\0");
    const stored = tools.read("/local/domain/1/data/big");
    assert.ok(stored.ok);
    assert.deepEqual(stored.value, value);
    const r = guest.request(backend, { op: "READ", path: "data/big" });
    assert.equal(r.length, 1);
    assert.deepEqual(r[0]!.payload, value);
    assert.ok(guest.u32(RING.REQ_PROD) > XENSTORE_RING_SIZE, "the indices ran past the ring's size");
  });

  it("stops serving a guest whose indices jump, and nobody else", () => {
    const { store, tools, guest, backend, errors } = setup();
    guest.request(backend, { op: "WATCH", path: "data", token: "t" });
    guest.set(RING.REQ_PROD, guest.u32(RING.REQ_CONS) + XENSTORE_RING_SIZE + 1);
    backend.kick();
    assert.equal(guest.u32(RING.ERROR), XenstoreError.RINGIDX);
    assert.equal(backend.connected, false);
    assert.match(errors[0]!, /req indices are 1025 bytes apart/);
    assert.equal(backend.conn.watches.length, 0, "its watches went");
    // Ignored from now on: a valid request gets no answer.
    guest.set(RING.REQ_PROD, guest.u32(RING.REQ_CONS));
    const rspProd = guest.u32(RING.RSP_PROD);
    guest.put(encodeMessage(encodeRequest({ op: "READ", path: "name" }, 9)));
    backend.kick();
    assert.equal(guest.u32(RING.RSP_PROD), rspProd);
    // The store and the other domains are untouched.
    assert.equal(tools.readString("/local/domain/2/name").ok, true);
    const other = store.introduce(tools, 2, 1, 1);
    const page2 = new FakeGuest();
    const b2 = new RingBackend(other, page2, { notify: () => {} });
    assert.equal(text(page2.request(b2, { op: "READ", path: "name" })[0]!), "other");
  });

  it("stops serving on a reply index the guest moved, a header over the payload limit or of no type", () => {
    const cases: [string, (g: FakeGuest) => void, number][] = [
      ["rsp_prod", (g) => g.set(RING.RSP_PROD, g.u32(RING.RSP_CONS) - 5), XenstoreError.RINGIDX],
      [
        "len",
        (g) => {
          const h = new Uint8Array(16);
          new DataView(h.buffer).setUint32(12, 4097, true);
          g.put(h);
        },
        XenstoreError.PROTO,
      ],
      [
        "type",
        (g) => {
          const h = new Uint8Array(16);
          new DataView(h.buffer).setUint32(0, 99, true);
          g.put(h);
        },
        XenstoreError.PROTO,
      ],
    ];
    for (const [what, spoil, code] of cases) {
      const { guest, backend, tools } = setup();
      tools.write("/local/domain/1/data/x", "1"); // something queued for output is not needed
      guest.request(backend, { op: "WATCH", path: "data", token: "t" });
      spoil(guest);
      tools.write("/local/domain/1/data/x", "2"); // makes output, so rsp indices are checked
      backend.kick();
      assert.equal(guest.u32(RING.ERROR), code, what);
      assert.equal(backend.connected, false, what);
    }
  });

  it("stops serving when the page cannot be written for the guest (a PV page table)", () => {
    const { guest, backend } = setup();
    guest.writable = false;
    guest.put(encodeMessage(encodeRequest({ op: "READ", path: "name" }, 1)));
    backend.kick();
    assert.equal(backend.connected, false);
    assert.match(backend.error!, /cannot be written/);
  });

  it("resets on the guest's reconnection request: empty queues, no watches, served again", () => {
    const { guest, backend, tools } = setup();
    guest.request(backend, { op: "WATCH", path: "data", token: "t" });
    guest.set(RING.REQ_PROD, guest.u32(RING.REQ_CONS) + 5000); // broken, then a reconnection
    backend.kick();
    assert.equal(guest.u32(RING.ERROR), XenstoreError.RINGIDX);
    guest.set(RING.REQ_PROD, 7);
    guest.set(RING.RSP_CONS, 3);
    guest.set(RING.CONNECTION, 1);
    backend.kick();
    assert.equal(guest.u32(RING.CONNECTION), 0);
    assert.equal(guest.u32(RING.ERROR), 0);
    assert.equal(guest.u32(RING.REQ_CONS), 7);
    assert.equal(guest.u32(RING.RSP_PROD), 3);
    assert.equal(backend.connected, true);
    assert.equal(backend.conn.watches.length, 0);
    tools.write("/local/domain/1/data/z", "1");
    assert.equal(text(guest.request(backend, { op: "READ", path: "name" })[0]!), "guest");
  });

  it("reads no more requests while replies wait unread, and bounds the events it keeps", () => {
    const { guest, backend, tools } = setup();
    // The guest sends requests and never reads a reply.
    const big = new Uint8Array(2000);
    tools.write("/local/domain/1/data/big", big);
    const read = encodeMessage(encodeRequest({ op: "READ", path: "data/big" }, 1));
    let answered = 0;
    for (let i = 0; i < 50; i++) {
      const free = XENSTORE_RING_SIZE - ((guest.u32(RING.REQ_PROD) - guest.u32(RING.REQ_CONS)) >>> 0);
      if (free >= read.length) guest.put(read);
      backend.kick();
      answered = backend.stats.requests;
    }
    assert.ok(answered <= 6, `${answered} requests served with nobody reading the replies`);
    assert.equal(backend.connected, true, "back-pressure is not an error");
    // Events for a guest that does not read them are dropped past the bound, and counted.
    guest.request(backend, { op: "WATCH", path: "/local/domain/1/data", token: "t" });
    for (let prod = -1; prod !== guest.u32(RING.RSP_PROD); ) {
      prod = guest.u32(RING.RSP_PROD);
      backend.kick();
      guest.take(); // the backlog of replies, until the watch is set
    }
    assert.equal(backend.conn.watches.length, 1);
    const writes = 4 * MAX_QUEUED_EVENTS;
    for (let i = 0; i < writes; i++) tools.write("/local/domain/1/data/n", String(i));
    const { events, droppedEvents } = backend.stats;
    assert.ok(droppedEvents > 0 && events < writes, `${events} sent, ${droppedEvents} dropped`);
  });

  it("does nothing after close", () => {
    const { guest, backend, tools } = setup();
    guest.request(backend, { op: "WATCH", path: "data", token: "t" });
    backend.close();
    const prod = guest.u32(RING.RSP_PROD);
    tools.write("/local/domain/1/data/q", "1");
    backend.kick();
    assert.equal(guest.u32(RING.RSP_PROD), prod);
  });
});
