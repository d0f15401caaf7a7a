import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { exampleConfig, readBundle } from "./oci.js";

/** The parts of config.json these tests change. */
interface Config {
  process: { env?: unknown };
  linux: { namespaces: unknown[]; uidMappings?: unknown[]; resources: { memory?: unknown; cpu?: unknown } };
}

const dir = mkdtempSync(join(tmpdir(), "rvisor-oci-unit-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function bundle(name: string, config: unknown): string {
  const b = join(dir, name);
  mkdirSync(join(b, "rootfs"), { recursive: true });
  writeFileSync(join(b, "config.json"), JSON.stringify(config));
  return b;
}

test("a bundle's process, root, hostname and resources become run options", () => {
  const c = exampleConfig(["/bin/sh", "-c", "true"], { memory: 32 << 20, pids: 7 }) as unknown as Config;
  c.linux.resources.cpu = { shares: 256, quota: 50000, period: 100000 };
  const o = readBundle(bundle("ok", c));
  assert.deepEqual(o.args, ["/bin/sh", "-c", "true"]);
  assert.equal(o.rootfs, join(dir, "ok", "rootfs"));
  assert.equal(o.hostname, "oci");
  assert.equal(o.net, "none");
  assert.equal(o.userns, false);
  assert.deepEqual(o.limits, { memory: 32 << 20, pidsLimit: 7, cpuShares: 256, cpus: 0.5 });
});

test("a network namespace given by path asks for the bridge, a user namespace for the uid map", () => {
  const c = exampleConfig(["/bin/true"]) as unknown as Config;
  c.linux.namespaces = [{ type: "network", path: "/run/netns/x" }, { type: "user" }];
  c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const o = readBundle(bundle("ns", c));
  assert.equal(o.net, "bridge");
  assert.equal(o.userns, true);
});

test("wrong fields are named in the error", () => {
  const c = exampleConfig(["/bin/true"]) as unknown as Config;
  c.linux.namespaces = [{ type: "time" }];
  assert.throws(() => readBundle(bundle("time", c)), /linux.namespaces: unknown type 'time'/);
  const d = exampleConfig(["/bin/true"]) as unknown as Config;
  d.linux.resources.memory = { limit: "lots" };
  assert.throws(() => readBundle(bundle("mem", d)), /linux.resources.memory.limit must be a number/);
  const e = exampleConfig(["/bin/true"]) as unknown as Config;
  e.process.env = "PATH=/bin";
  assert.throws(() => readBundle(bundle("env", e)), /process.env must be a list of strings/);
});
