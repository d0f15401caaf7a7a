import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { errorMessage, handleRequest, watchEventMessage } from "./protocol.js";
import { encodeRequest, parseRequest, type Request } from "./requests.js";
import { Store } from "./store.js";
import {
  allStrings,
  decodeMessage,
  encodeMessage,
  HEADER_SIZE,
  WireError,
  XENSTORE_PAYLOAD_MAX,
  type XsMessage,
  XsType,
} from "./wire.js";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const typeCode = fc.constantFrom(...Object.values(XsType));
const pathArb = fc.stringMatching(/^\/[a-z0-9_@-]{1,8}(\/[a-z0-9_@-]{1,8}){0,3}$/);
const tokenArb = fc.stringMatching(/^[ -~]{0,12}$/).filter((s) => !s.includes("\0"));
const domidArb = fc.integer({ min: 0, max: 0xffff });

const requestArb: fc.Arbitrary<Request> = fc.oneof(
  fc.record({ op: fc.constantFrom("READ", "DIRECTORY", "GET_PERMS", "MKDIR", "RM"), path: pathArb }),
  fc.record({ op: fc.constant("WRITE"), path: pathArb, value: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({
    op: fc.constant("SET_PERMS"),
    path: pathArb,
    perms: fc.array(fc.stringMatching(/^[nrwb][0-9]{1,5}$/), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({ op: fc.constantFrom("WATCH", "UNWATCH"), path: pathArb, token: tokenArb }),
  fc.record({ op: fc.constantFrom("TRANSACTION_START", "RESET_WATCHES") }),
  fc.record({ op: fc.constant("TRANSACTION_END"), commit: fc.boolean() }),
  fc.record({
    op: fc.constant("INTRODUCE"),
    domid: domidArb,
    mfn: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
    evtchn: fc.integer({ min: 0, max: 4095 }),
  }),
  fc.record({
    op: fc.constantFrom("RELEASE", "GET_DOMAIN_PATH", "IS_DOMAIN_INTRODUCED", "RESUME"),
    domid: domidArb,
  }),
  fc.record({ op: fc.constant("DIRECTORY_PART"), path: pathArb, offset: fc.integer({ min: 0, max: 1e6 }) }),
) as fc.Arbitrary<Request>;

function header(type: number, reqId: number, txId: number, len: number): Uint8Array {
  const bytes = new Uint8Array(HEADER_SIZE);
  const v = new DataView(bytes.buffer);
  for (const [i, x] of [type, reqId, txId, len].entries()) v.setUint32(i * 4, x, true);
  return bytes;
}

describe("wire format", () => {
  it("the header is four little-endian uint32s: type, req_id, tx_id, len", () => {
    const bytes = encodeMessage({
      type: XsType.WRITE,
      reqId: 0x01020304,
      txId: 7,
      payload: new Uint8Array([65, 0]),
    });
    assert.deepEqual([...bytes], [11, 0, 0, 0, 4, 3, 2, 1, 7, 0, 0, 0, 2, 0, 0, 0, 65, 0]);
  });

  it("any message survives encode then decode, and a stream of messages decodes one by one", () => {
    const msgArb = fc.record({
      type: typeCode,
      reqId: u32,
      txId: u32,
      payload: fc.uint8Array({ maxLength: 200 }),
    }) as fc.Arbitrary<XsMessage>;
    fc.assert(
      fc.property(fc.array(msgArb, { minLength: 1, maxLength: 5 }), (msgs) => {
        const parts = msgs.map(encodeMessage);
        const stream = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) {
          stream.set(p, at);
          at += p.length;
        }
        let offset = 0;
        for (const m of msgs) {
          const d = decodeMessage(stream.subarray(offset));
          assert.ok(d);
          assert.deepEqual(d.message, { ...m });
          offset += d.size;
        }
        assert.equal(offset, stream.length);
      }),
    );
  });

  it("a message cut anywhere short decodes as incomplete, not as an error", () => {
    const bytes = encodeMessage({
      type: XsType.READ,
      reqId: 1,
      txId: 0,
      payload: new TextEncoder().encode("/a\0"),
    });
    for (let n = 0; n < bytes.length; n++) assert.equal(decodeMessage(bytes.subarray(0, n)), undefined);
  });

  it("a length over XENSTORE_PAYLOAD_MAX or an unknown type is a fatal error naming the field", () => {
    assert.throws(
      () => decodeMessage(header(XsType.READ, 1, 0, XENSTORE_PAYLOAD_MAX + 1)),
      (e: unknown) => e instanceof WireError && e.fatal && /len 4097 exceeds/.test(e.message),
    );
    assert.throws(
      () => decodeMessage(header(23, 1, 0, 0)),
      (e: unknown) => e instanceof WireError && e.fatal && /unknown type 23/.test(e.message),
    );
    assert.throws(() =>
      encodeMessage({
        type: XsType.READ,
        reqId: 0,
        txId: 0,
        payload: new Uint8Array(XENSTORE_PAYLOAD_MAX + 1),
      }),
    );
  });

  it("every request survives encodeRequest then parseRequest", () => {
    fc.assert(
      fc.property(requestArb, u32, u32, (req, reqId, txId) => {
        const msg = encodeRequest(req, reqId, txId);
        const back = decodeMessage(encodeMessage(msg))!.message;
        assert.deepEqual(parseRequest(back), { ...req });
      }),
    );
  });

  it("malformed payloads are errors naming the type and the field", () => {
    const msg = (type: number, s: string): XsMessage => ({
      type: type as XsMessage["type"],
      reqId: 9,
      txId: 0,
      payload: new TextEncoder().encode(s),
    });
    const cases: Array<[XsMessage, RegExp]> = [
      [msg(XsType.READ, "/a"), /READ request 9: path at payload byte 0 is not nul-terminated/],
      [msg(XsType.WATCH, "/a\0tok"), /WATCH request 9: token/],
      [msg(XsType.TRANSACTION_END, "X\0"), /flag "X" is not T or F/],
      [msg(XsType.INTRODUCE, "1\0abc\0" + "3\0"), /mfn "abc" is not a decimal number/],
      [msg(XsType.RELEASE, "70000\0"), /domid 70000 is above 65535/],
      [msg(XsType.SET_PERMS, "/a\0"), /no permissions/],
      [msg(XsType.ERROR, "EINVAL\0"), /ERROR is not a request/],
    ];
    for (const [m, re] of cases)
      assert.throws(
        () => parseRequest(m),
        (e: unknown) => e instanceof WireError && !e.fatal && re.test(e.message),
      );
    assert.throws(() => allStrings(new TextEncoder().encode("a\0b"), "DIRECTORY reply"), /byte 2/);
  });
});

describe("protocol: one request message in, one reply out", () => {
  const store = new Store();
  const dom0 = store.connect(0);
  let reqId = 0;
  const call = (req: Request, txId = 0) => handleRequest(dom0, encodeRequest(req, ++reqId, txId));

  it("a reply copies type, req_id and tx_id and carries the payload Xen specifies", () => {
    const w = call({ op: "WRITE", path: "/p/v", value: new TextEncoder().encode("val") });
    assert.deepEqual(
      { ...w, payload: text(w.payload) },
      { type: XsType.WRITE, reqId, txId: 0, payload: "OK\0" },
    );
    assert.equal(text(call({ op: "READ", path: "/p/v" }).payload), "val");
    assert.equal(text(call({ op: "DIRECTORY", path: "/p" }).payload), "v\0");
    assert.equal(text(call({ op: "GET_PERMS", path: "/p/v" }).payload), "n0\0");
    assert.equal(text(call({ op: "GET_DOMAIN_PATH", domid: 3 }).payload), "/local/domain/3\0");
    assert.equal(text(call({ op: "IS_DOMAIN_INTRODUCED", domid: 3 }).payload), "F\0");
  });

  it("a failure is an ERROR message with the errno name and the request's ids", () => {
    const r = call({ op: "READ", path: "/absent" });
    assert.deepEqual(
      { ...r, payload: text(r.payload) },
      { type: XsType.ERROR, reqId, txId: 0, payload: "ENOENT\0" },
    );
    const bad = handleRequest(dom0, { type: XsType.READ, reqId: 77, txId: 5, payload: new Uint8Array([47]) });
    assert.deepEqual(
      { ...bad, payload: text(bad.payload) },
      { type: XsType.ERROR, reqId: 77, txId: 5, payload: "EINVAL\0" },
    );
    assert.deepEqual(errorMessage({ reqId: 1, txId: 2 }, "EAGAIN").type, XsType.ERROR);
    const control = handleRequest(dom0, {
      type: XsType.CONTROL,
      reqId: 3,
      txId: 0,
      payload: new Uint8Array([0]),
    });
    assert.equal(
      text(control.payload),
      "ENOSYS\0",
      "a request Xen defines but this store does not implement",
    );
    const event = handleRequest(dom0, {
      type: XsType.WATCH_EVENT,
      reqId: 4,
      txId: 0,
      payload: new Uint8Array([0]),
    });
    assert.equal(text(event.payload), "EINVAL\0", "a reply type sent as a request");
  });

  it("transactions run through tx_id: start answers the id, end with T commits", () => {
    const start = call({ op: "TRANSACTION_START" });
    const tx = Number(text(start.payload).replace("\0", ""));
    assert.ok(tx > 0);
    assert.equal(text(call({ op: "WRITE", path: "/txv", value: new Uint8Array([49]) }, tx).payload), "OK\0");
    assert.equal(text(call({ op: "READ", path: "/txv" }).payload), "ENOENT\0");
    assert.equal(text(call({ op: "TRANSACTION_END", commit: true }, tx).payload), "OK\0");
    assert.equal(text(call({ op: "READ", path: "/txv" }).payload), "1");
    assert.equal(text(call({ op: "TRANSACTION_START" }, 5).payload), "EBUSY\0", "start inside a transaction");
  });

  it("an answer too long for one message is E2BIG", () => {
    for (let i = 0; i < 400; i++) call({ op: "MKDIR", path: `/big/child-number-${i}` });
    assert.equal(text(call({ op: "DIRECTORY", path: "/big" }).payload), "E2BIG\0");
  });

  it("DIRECTORY_PART pages a long child list by byte offset, ending with an empty name", () => {
    const names: string[] = [];
    let offset = 0;
    let generation: string | undefined;
    for (let page = 0; page < 10; page++) {
      const reply = call({ op: "DIRECTORY_PART", path: "/big", offset });
      assert.equal(reply.type, XsType.DIRECTORY_PART);
      assert.ok(reply.payload.length <= XENSTORE_PAYLOAD_MAX);
      const [gen, ...rest] = allStrings(reply.payload, "DIRECTORY_PART reply");
      generation ??= gen;
      assert.equal(gen, generation, "the list did not change between pages");
      const done = rest.at(-1) === "";
      const got = done ? rest.slice(0, -1) : rest;
      names.push(...got);
      offset += got.reduce((n, s) => n + s.length + 1, 0);
      if (done) break;
    }
    assert.equal(names.length, 400);
    assert.equal(names[399], "child-number-399");
    const past = call({ op: "DIRECTORY_PART", path: "/big", offset: 1e6 });
    assert.deepEqual(allStrings(past.payload, "reply").slice(1), [""]);
  });

  it("watch events become WATCH_EVENT messages with req_id and tx_id 0", () => {
    call({ op: "WATCH", path: "/ev", token: "tk" });
    const [event] = dom0.takeEvents();
    const m = watchEventMessage(event!);
    assert.deepEqual(
      { ...m, payload: text(m.payload) },
      { type: XsType.WATCH_EVENT, reqId: 0, txId: 0, payload: "/ev\0tk\0" },
    );
  });
});
