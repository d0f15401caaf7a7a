import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { allocateAddress } from "./network.js";
import { type Sandbox, SKIP_UNLESS_ROOT, sandbox } from "./test-support.js";

test("addresses are handed out from 10.88.0.2 upwards, skipping used ones and .0/.255", () => {
  assert.equal(allocateAddress(new Set()), "10.88.0.2");
  assert.equal(allocateAddress(new Set(["10.88.0.2", "10.88.0.3"])), "10.88.0.4");
  const full = new Set(Array.from({ length: 254 }, (_, i) => `10.88.0.${i + 1}`));
  assert.equal(allocateAddress(full), "10.88.1.1");
});

describe("bridged containers", { skip: SKIP_UNLESS_ROOT }, () => {
  let sb: Sandbox;
  before(() => {
    sb = sandbox();
  });
  after(async () => {
    await sb.cleanup();
  });

  test("reach each other over the engine's bridge, while the host gets no address or link", async () => {
    const a = await sb.engine.runDetached({ rootfs: sb.image, net: "bridge", args: ["/bin/sleep", "1000"] });
    const b = await sb.engine.runDetached({ rootfs: sb.image, net: "bridge", args: ["/bin/sleep", "1000"] });
    assert.ok(a.ip && b.ip && a.ip !== b.ip);
    assert.equal(await sb.engine.exec(b.id, ["/bin/ping", "-c", "1", "-W", "3", a.ip], [], "pipe"), 0);
    assert.equal(await sb.engine.exec(a.id, ["/bin/ping", "-c", "1", "-W", "3", b.ip], [], "pipe"), 0);
    const inside = await sb.engine.exec(
      a.id,
      ["/bin/sh", "-c", `ip -4 addr show eth0 | grep -q ${a.ip}/16`],
      [],
      "pipe",
    );
    assert.equal(inside, 0);
    const host = execFileSync("ip", ["-4", "addr"], { encoding: "utf8" });
    assert.ok(!host.includes("10.88."), "the private range exists only inside the engine's namespaces");
    await sb.engine.remove(a.id, true);
    await sb.engine.remove(b.id, true);
  });
});
