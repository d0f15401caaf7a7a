import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { checkpoint, restore } from "./criu.js";
import { Engine } from "./engine.js";
import { migrate, serveMigrations } from "./migrate.js";
import { REPO_ROOT } from "./params.js";
import { eventually, type Sandbox, SKIP_UNLESS_ROOT, sandbox, sleep } from "./test-support.js";

const COUNTER = ["/bin/sh", "-c", "i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done"];

/** The counter's output as numbers; asserts they run 1, 2, 3, ... with nothing lost or repeated. */
function assertCountsOn(log: string): number {
  const n = log.trim().split("\n").map(Number);
  for (const [i, v] of n.entries()) assert.equal(v, i + 1, `line ${i + 1} of the log reads ${v}`);
  return n.length;
}

describe("checkpoint and restore with CRIU", { skip: SKIP_UNLESS_ROOT }, () => {
  let sb: Sandbox;
  before(() => {
    sb = sandbox();
  });
  after(async () => {
    await sb.cleanup();
  });

  test("a restored counter continues where it stopped, in new cgroups with its updated limits", async () => {
    const e = sb.engine;
    const c = await e.runDetached({
      rootfs: sb.image,
      args: COUNTER,
      limits: { memory: 64 << 20, pidsLimit: 20 },
    });
    e.update(c.id, { pidsLimit: 33, memory: 96 << 20 });
    await eventually("some counting", 3000, () => (e.logs(c.id).split("\n").length > 5 ? true : undefined));
    await checkpoint(e, c.id);
    assert.equal(e.get(c.id).state, "checkpointed");
    const before = assertCountsOn(e.logs(c.id));
    await sleep(200);
    assert.equal(assertCountsOn(e.logs(c.id)), before, "nothing runs while checkpointed");
    const r = await restore(e, c.id);
    assert.equal(e.get(c.id).state, "running");
    assert.equal(e.get(c.id).pid, r.pid);
    await eventually("more counting", 3000, () =>
      e.logs(c.id).split("\n").length > before + 5 ? true : undefined,
    );
    assertCountsOn(e.logs(c.id));
    const s = e.stats(c.id);
    assert.equal(s.pidsLimit, 33);
    assert.equal(s.memoryLimit, 96 << 20);
    assert.ok(e.cgroupOf(c.id).pids().includes(r.pid), "the restored init is in the container's cgroup");
    await e.remove(c.id, true);
  });

  test("a bridged container is restored into a new network namespace and keeps its address", async () => {
    const e = sb.engine;
    const peer = await e.runDetached({ rootfs: sb.image, net: "bridge", args: ["/bin/sleep", "1000"] });
    const c = await e.runDetached({ rootfs: sb.image, net: "bridge", args: COUNTER });
    await sleep(200);
    await checkpoint(e, c.id);
    await restore(e, c.id);
    assert.equal(await e.exec(c.id, ["/bin/ping", "-c", "1", "-W", "3", peer.ip ?? ""], [], "pipe"), 0);
    assertCountsOn(e.logs(c.id));
    await e.remove(c.id, true);
    await e.remove(peer.id, true);
  });

  test("a user-namespaced container is checkpointed and restored with its /dev bind mounts", async () => {
    const e = sb.engine;
    const c = await e.runDetached({ rootfs: sb.image, userns: true, args: COUNTER });
    await eventually("some counting", 3000, () => (e.logs(c.id).split("\n").length > 3 ? true : undefined));
    await checkpoint(e, c.id);
    const r = await restore(e, c.id);
    await eventually("more counting", 3000, () => (e.logs(c.id).split("\n").length > 8 ? true : undefined));
    assertCountsOn(e.logs(c.id));
    assert.match(readFileSync(`/proc/${r.pid}/uid_map`, "utf8"), /^\s*0\s+100000\s+65536/);
    await e.remove(c.id, true);
  });

  test("a bridged container migrates into a new namespace on the target's bridge and reaches its peers", async () => {
    const target = sb.otherEngine();
    const server = await serveMigrations(target, "127.0.0.1:0");
    try {
      const peer = await target.runDetached({
        rootfs: sb.image,
        net: "bridge",
        args: ["/bin/sleep", "1000"],
      });
      const c = await sb.engine.runDetached({ rootfs: sb.image, net: "bridge", args: COUNTER });
      await sleep(200);
      const report = await migrate(sb.engine, c.id, server.address);
      const moved = target.get(report.remoteId);
      assert.equal(moved.state, "running");
      assert.ok(moved.ip && moved.ip !== peer.ip);
      assert.equal(
        await target.exec(moved.id, ["/bin/ping", "-c", "1", "-W", "3", peer.ip ?? ""], [], "pipe"),
        0,
      );
      assertCountsOn(target.logs(moved.id));
    } finally {
      await server.close();
    }
  });

  test("a migration that cannot start leaves the container running here, and says why", async () => {
    const e = sb.engine;
    const c = await e.runDetached({ rootfs: sb.image, args: ["/bin/sleep", "1000"] });
    await assert.rejects(migrate(e, c.id, "127.0.0.1:1"), /cannot reach the daemon at 127\.0\.0\.1:1/);
    assert.equal(e.get(c.id).state, "running");
    const target = sb.otherEngine();
    const server = await serveMigrations(target, "127.0.0.1:0");
    try {
      const u = await e.runDetached({
        rootfs: sb.image,
        userns: true,
        net: "bridge",
        args: ["/bin/sleep", "1000"],
      });
      await assert.rejects(
        migrate(e, u.id, server.address),
        /user-namespaced container on the bridge cannot be checkpointed/,
      );
      assert.equal(e.get(u.id).state, "running");
      assert.equal(target.list().length, 0);
    } finally {
      await server.close();
    }
    await assert.rejects(checkpoint(e, "nobody"), /no such container: nobody/);
  });

  test("migrates a running container to another daemon over loopback, reporting the downtime", async () => {
    const targetRoot = `${sb.dir}/target-engine`;
    const daemon = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { Command } from "commander";
         import { registerContainerCommands } from "${REPO_ROOT}/dist/containers/cli.js";
         const p = new Command("rvisor"); registerContainerCommands(p);
         await p.parseAsync(process.argv.slice(1), { from: "user" });`,
        "ctr",
        "--root",
        targetRoot,
        "daemon",
        "--listen",
        "127.0.0.1:0",
      ],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      const address = await new Promise<string>((resolve, reject) => {
        daemon.stdout.on("data", (d: Buffer) => {
          const m = /listening on (\S+)/.exec(d.toString());
          if (m) resolve(m[1]);
        });
        daemon.once("exit", (code) => reject(new Error(`the daemon exited with ${code}`)));
      });
      const e = sb.engine;
      const c = await e.runDetached({
        rootfs: sb.image,
        name: "mover",
        args: COUNTER,
        limits: { pidsLimit: 21 },
      });
      await sleep(300);
      const report = await migrate(e, "mover", address);
      assert.ok(report.downtimeMs > 0 && report.downtimeMs >= report.dumpMs);
      assert.ok(report.bytes > 0);
      assert.throws(() => e.get(c.id), /no such container/, "the source no longer has it");
      const target = Engine.open(targetRoot);
      try {
        const moved = target.get("mover");
        assert.equal(moved.state, "running");
        assert.equal(moved.id, report.remoteId);
        assert.equal(target.stats("mover").pidsLimit, 21);
        await sleep(300);
        const n = assertCountsOn(target.logs("mover"));
        assert.ok(n > 5);
        await target.remove("mover", true);
      } finally {
        target.close();
      }
    } finally {
      daemon.kill("SIGTERM");
      await new Promise((r) => daemon.once("exit", r));
      const target = Engine.open(targetRoot);
      const { cleanupEngine } = await import("./test-support.js");
      await cleanupEngine(target);
    }
  });
});
