import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { macKey, macText, type SwitchPort, VirtualSwitch } from "./switch.js";

const BROADCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
const mac = (n: number): number[] => [0x00, 0x16, 0x3e, 0x00, 0x00, n];

function frame(dst: readonly number[], src: readonly number[], payload = 46, tag = 0): Uint8Array {
  const f = new Uint8Array(14 + payload);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x08;
  if (payload > 0) f[14] = tag;
  return f;
}

/** A switch with `n` ports whose devices record what they receive (refusing while `full` is set). */
function rig(n: number, opts: { queueFrames?: number; ageingNs?: number; mtu?: number } = {}) {
  let now = 0;
  const sw = new VirtualSwitch("br0", { now: () => now, ...opts });
  const got: Uint8Array[][] = [];
  const full: boolean[] = [];
  const ports: SwitchPort[] = [];
  for (let i = 0; i < n; i++) {
    const p = sw.addPort(`vif${i + 1}.0`);
    got.push([]);
    full.push(false);
    p.connect({
      receive: (f) => {
        if (full[i]) return false;
        got[i].push(f);
        return true;
      },
    });
    ports.push(p);
  }
  return { sw, ports, got, full, advance: (ns: number) => (now += ns) };
}

test("an unknown destination is flooded to every port but the one it came in on", () => {
  const { ports, got } = rig(3);
  ports[0].send(frame(mac(2), mac(1)));
  assert.deepEqual(
    got.map((g) => g.length),
    [0, 1, 1],
  );
});

test("a learned unicast goes to exactly its port; broadcast still floods", () => {
  const { sw, ports, got } = rig(3);
  ports[1].send(frame(BROADCAST, mac(2))); // learn mac 2 on port 1
  ports[0].send(frame(mac(2), mac(1), 46, 7));
  assert.equal(got[1].length, 1);
  assert.equal(got[1][0][14], 7);
  assert.equal(got[2].length, 1, "only the broadcast reached port 2");
  assert.equal(sw.lookup(macKey(Uint8Array.from(mac(2)), 0)), ports[1]);
  assert.deepEqual(
    sw.fdbEntries().map((e) => [e.mac, e.port]),
    [
      ["00:16:3e:00:00:01", "vif1.0"],
      ["00:16:3e:00:00:02", "vif2.0"],
    ],
  );
});

test("a frame for a MAC behind its own ingress port is not forwarded anywhere", () => {
  const { ports, got } = rig(2);
  ports[0].send(frame(BROADCAST, mac(1)));
  ports[0].send(frame(mac(1), mac(3)));
  assert.equal(got[1].length, 1);
  assert.equal(got[0].length, 0);
});

test("entries age out after the ageing time; a MAC that moves follows at once", () => {
  const { sw, ports, got, advance } = rig(3, { ageingNs: 1000 });
  ports[1].send(frame(BROADCAST, mac(2)));
  advance(999);
  ports[0].send(frame(mac(2), mac(1)));
  assert.equal(got[2].length, 1, "still learned: unicast to port 1 only");
  advance(1);
  ports[0].send(frame(mac(2), mac(1)));
  assert.equal(got[2].length, 2, "aged out: flooded");
  ports[2].send(frame(mac(1), mac(2))); // mac 2 moved to port 2
  assert.equal(sw.fdbEntries().find((e) => e.mac === "00:16:3e:00:00:02")?.port, "vif3.0");
});

test("invalid and oversized frames are dropped and counted, nothing learned", () => {
  const { sw, ports, got } = rig(2, { mtu: 100 });
  ports[0].send(new Uint8Array(13));
  ports[0].send(frame(mac(2), BROADCAST));
  ports[0].send(frame(mac(2), [0, 0, 0, 0, 0, 0]));
  ports[0].send(frame(mac(2), mac(1), 101));
  ports[0].send(frame(mac(2), mac(1), 100));
  const c = ports[0].counters;
  assert.deepEqual([c.inInvalid, c.inOversize, c.inFrames, c.inBytes], [3, 1, 1, 114]);
  assert.equal(got[1].length, 1);
  assert.equal(sw.fdbEntries().length, 1);
});

test("a port whose device has no receive buffers queues up to its bound, then drops; rxReady delivers", () => {
  const { ports, got, full } = rig(2, { queueFrames: 4 });
  full[1] = true;
  for (let i = 0; i < 6; i++) ports[0].send(frame(mac(2), mac(1), 46, i));
  assert.equal(ports[1].queued, 4);
  assert.equal(ports[1].counters.outDropped, 2);
  full[1] = false;
  ports[1].rxReady();
  assert.deepEqual(
    got[1].map((f) => f[14]),
    [0, 1, 2, 3],
  );
  assert.equal(ports[1].counters.outFrames, 4);
  assert.equal(ports[1].counters.outBytes, 4 * 60);
});

test("a removed port gets nothing more and its addresses are forgotten", () => {
  const { sw, ports, got } = rig(3);
  ports[1].send(frame(BROADCAST, mac(2)));
  ports[1].disconnect();
  ports[0].send(frame(mac(2), mac(1)));
  assert.equal(got[1].length, 0);
  assert.equal(got[2].length, 2, "flooded: the broadcast and the now unknown unicast");
  assert.equal(sw.portList.length, 2);
  ports[1].send(frame(BROADCAST, mac(2)));
  assert.equal(got[2].length, 2, "a detached port cannot send");
});

test("a full table floods what it cannot learn and counts it", () => {
  const small = new VirtualSwitch("small", { now: () => 0, fdbCapacity: 1 });
  const a = small.addPort("a");
  const b = small.addPort("b");
  const seen: Uint8Array[] = [];
  b.connect({
    receive: (f) => {
      seen.push(f);
      return true;
    },
  });
  a.send(frame(BROADCAST, mac(1)));
  a.send(frame(BROADCAST, mac(3)));
  assert.equal(small.fdbFull, 1);
  assert.equal(small.fdbEntries().length, 1);
  assert.equal(seen.length, 2);
});

test("macText prints a key as six hex groups", () => {
  assert.equal(
    macText(macKey(Uint8Array.from([0x00, 0x16, 0x3e, 0xab, 0x0c, 0xff]), 0)),
    "00:16:3e:ab:0c:ff",
  );
});

/**
 * The model: a plain map from MAC to (port, time last seen); every frame's expected set of output ports
 * follows from it as the rules say. The switch must agree frame by frame, over random traffic among a
 * few stations that move between ports and fall silent long enough to age out.
 */
test("the switch forwards as a learning-bridge model does, frame by frame", () => {
  const PORTS = 4;
  const AGEING = 100;
  const op = fc.oneof(
    fc.record({
      kind: fc.constant("send" as const),
      port: fc.nat(PORTS - 1),
      src: fc.integer({ min: 1, max: 6 }),
      // -1: broadcast, -2: a multicast group
      dst: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constant(-1), fc.constant(-2)),
    }),
    fc.record({ kind: fc.constant("wait" as const), ns: fc.integer({ min: 1, max: 60 }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const { ports, got, advance } = rig(PORTS, { ageingNs: AGEING });
      const model = new Map<number, { port: number; seen: number }>();
      let now = 0;
      let tag = 0;
      for (const o of ops) {
        if (o.kind === "wait") {
          advance(o.ns);
          now += o.ns;
          continue;
        }
        const dst =
          o.dst === -1 ? BROADCAST : o.dst === -2 ? [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01] : mac(o.dst);
        const before = got.map((g) => g.length);
        tag = (tag + 1) & 0xff;
        ports[o.port].send(frame(dst, mac(o.src), 46, tag));
        model.set(o.src, { port: o.port, seen: now });
        const learned = o.dst > 0 ? model.get(o.dst) : undefined;
        const live = learned !== undefined && now - learned.seen < AGEING ? learned.port : undefined;
        const expected = new Set<number>();
        if (live === undefined) for (let p = 0; p < PORTS; p++) if (p !== o.port) expected.add(p);
        if (live !== undefined && live !== o.port) expected.add(live);
        for (let p = 0; p < PORTS; p++) {
          const delta = got[p].length - before[p];
          assert.equal(delta, expected.has(p) ? 1 : 0, `port ${p} after ${JSON.stringify(o)}`);
          if (delta === 1) assert.equal(got[p].at(-1)![14], tag);
        }
        if (live !== undefined) assert.ok(expected.size <= 1, "learned unicast reaches at most one port");
      }
    }),
    { numRuns: 300 },
  );
});

test("queues never exceed their bound, and every frame is delivered or counted as dropped", () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ port: fc.nat(2), refuse: fc.boolean(), ready: fc.boolean() }), { maxLength: 80 }),
      (ops) => {
        const { ports, got, full } = rig(3, { queueFrames: 3 });
        let forwarded = 0;
        for (const o of ops) {
          full[(o.port + 1) % 3] = o.refuse;
          ports[o.port].send(frame(BROADCAST, mac(o.port + 1)));
          forwarded += 2;
          if (o.ready) for (const p of ports) p.rxReady();
          for (const p of ports) assert.ok(p.queued <= 3);
        }
        let accounted = 0;
        for (const [i, p] of ports.entries()) {
          assert.equal(p.counters.outFrames, got[i].length);
          accounted += p.counters.outFrames + p.counters.outDropped + p.queued;
        }
        assert.equal(accounted, forwarded);
      },
    ),
    { numRuns: 200 },
  );
});
