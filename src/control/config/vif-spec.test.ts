import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatVifSpec, generateMac, parseMac, parseVifSpec } from "./vif-spec.js";

const vif = (spec: string, bytes = [0xff, 0xee, 0xdd]) => {
  const r = parseVifSpec(spec, () => Uint8Array.from(bytes));
  assert.ok(r.ok, r.ok ? "" : r.error);
  return r.vif;
};
const error = (spec: string) => {
  const r = parseVifSpec(spec);
  assert.ok(!r.ok, `"${spec}" should be refused`);
  return r.error;
};

describe("vif specs", () => {
  it("reads mac and bridge, with blanks around them, and lower-cases the MAC", () => {
    assert.deepEqual(vif("mac=00:16:3E:74:3d:76,bridge=xenbr1"), {
      mac: "00:16:3e:74:3d:76",
      bridge: "xenbr1",
    });
    assert.deepEqual(vif(" mac = 02:00:00:00:00:01 , bridge = br0 "), {
      mac: "02:00:00:00:00:01",
      bridge: "br0",
    });
  });

  it("gives the empty spec Xen's defaults: a generated MAC on xenbr0", () => {
    assert.deepEqual(vif(""), { mac: "00:16:3e:7f:ee:dd", bridge: "xenbr0" });
  });

  it("generates MACs in Xen's OUI with the fourth byte's top bit clear, as libxl does", () => {
    assert.equal(
      generateMac(() => Uint8Array.from([0x80, 0x01, 0x02])),
      "00:16:3e:00:01:02",
    );
    assert.match(generateMac(), /^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$/);
  });

  it("refuses malformed, multicast and all-zero MACs", () => {
    assert.match(error("mac=00:16:3e:74:3d"), /six two-digit hex groups/);
    assert.match(error("mac=00-16-3e-74-3d-76"), /six two-digit hex groups/);
    assert.match(error("mac=0:16:3e:74:3d:76"), /six two-digit hex groups/);
    assert.match(error("mac=01:00:5e:00:00:01"), /multicast/);
    assert.match(error("mac=00:00:00:00:00:00"), /all zeros/);
    assert.deepEqual(parseMac("AA:BB:CC:DD:EE:FE"), { ok: true, mac: "aa:bb:cc:dd:ee:fe" });
  });

  it("refuses bad bridge names", () => {
    assert.match(error("bridge="), /bridge ""/);
    assert.match(error("bridge=a/b"), /bridge "a\/b"/);
    assert.match(error("bridge=abcdefghijklmnop"), /1 to 15/);
  });

  it("names Xen's vif keys that rvisor does not support", () => {
    assert.match(error("model=e1000"), /"model=" is Xen's but rvisor does not support it/);
    assert.match(error("rate=10Mb/s"), /"rate="/);
  });

  it("refuses unknown keys, keys given twice and words without '='", () => {
    assert.match(error("colour=red"), /unknown parameter "colour="/);
    assert.match(error("bridge=a,bridge=b"), /"bridge" given twice/);
    assert.match(error("xenbr0"), /"xenbr0" is not key=value/);
  });

  it("formats to a spec it reads back", () => {
    const v = { mac: "00:16:3e:01:02:03", bridge: "br-x" };
    assert.deepEqual(vif(formatVifSpec(v)), v);
  });
});
