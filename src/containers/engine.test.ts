import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { after, before, describe, test } from "node:test";
import { Engine, NotFoundError } from "./engine.js";
import { UsageError } from "./limits.js";
import { eventually, type Sandbox, SKIP_UNLESS_ROOT, sandbox, sleep } from "./test-support.js";

/** Runs `script` in a fresh container in the foreground and returns what it printed. */
async function runCapture(
  sb: Sandbox,
  script: string,
  extra: Partial<Parameters<Engine["runDetached"]>[0]> = {},
) {
  const c = await sb.engine.runDetached({ rootfs: sb.image, args: ["/bin/sh", "-c", script], ...extra });
  const done = await sb.engine.waitExit(c.id, 10_000);
  const out = sb.engine.logs(c.id);
  await sb.engine.remove(c.id, true);
  return { out, exitCode: done.exitCode };
}

describe("a container", { skip: SKIP_UNLESS_ROOT }, () => {
  let sb: Sandbox;
  before(() => {
    sb = sandbox();
  });
  after(async () => {
    await sb.cleanup();
  });

  test("sees itself as pid 1, with its own hostname, no host process and only its own mounts", async () => {
    const { out, exitCode } = await runCapture(
      sb,
      "echo pid=$$; hostname; ls /proc | grep -c '^[0-9]'; cut -d' ' -f2 /proc/mounts | sort | tr '\\n' ' '",
      { hostname: "box1" },
    );
    assert.equal(exitCode, 0);
    const [pid, host, procs, mounts] = out.trim().split("\n");
    assert.equal(pid, "pid=1");
    assert.equal(host, "box1");
    assert.notEqual(host, hostname());
    assert.ok(Number(procs) <= 3, `the container sees ${procs} processes`);
    assert.deepEqual(mounts.trim().split(" "), ["/", "/dev", "/proc"]);
  });

  test("with --net none has only a loopback interface", async () => {
    const { out } = await runCapture(
      sb,
      "ls /proc/sys/net/ipv4/conf; cat /proc/net/dev | tail -n +3 | cut -d: -f1",
    );
    const names = out.split(/\s+/).filter(Boolean);
    assert.ok(names.includes("lo"));
    assert.ok(!names.some((n) => /^(eth|en|wl|rv|v[0-9a-f])/.test(n)), `interfaces: ${names.join(" ")}`);
  });

  test("writes to an overlay: the image directory is left untouched", async () => {
    const { out } = await runCapture(sb, "echo changed > /etc/marker && cat /etc/marker");
    assert.equal(out.trim(), "changed");
    assert.throws(() => readFileSync(`${sb.image}/etc/marker`), /ENOENT/);
  });

  test("runs in the foreground and returns its exit status", async () => {
    const r = await sb.engine.runAttached({ rootfs: sb.image, args: ["/bin/sh", "-c", "exit 7"] });
    assert.equal(r.exitCode, 7);
    assert.equal(r.record.state, "exited");
    await sb.engine.remove(r.record.id);
  });

  test("in the background can be listed, exec'd into, logged, inspected, stopped and removed", async () => {
    const e = sb.engine;
    const c = await e.runDetached({
      rootfs: sb.image,
      name: "svc",
      args: ["/bin/sh", "-c", "echo started; exec sleep 1000"],
      limits: { memory: 64 << 20, pidsLimit: 32 },
    });
    assert.equal(c.state, "running");
    assert.ok(e.list().some((x) => x.name === "svc" && x.state === "running"));
    assert.equal(await e.exec("svc", ["/bin/sh", "-c", "test $(cat /proc/1/comm) = sleep"], [], "pipe"), 0);
    assert.equal(await e.exec("svc", ["/bin/sh", "-c", "exit 3"], [], "pipe"), 3);
    await eventually("the log line", 2000, () => (e.logs("svc").includes("started") ? true : undefined));
    const info = e.inspect("svc");
    assert.equal(info.record.limits.memory, 64 << 20);
    assert.equal(info.stats?.memoryLimit, 64 << 20);
    assert.equal(info.stats?.pidsLimit, 32);
    assert.ok((info.stats?.pids ?? 0) >= 1);
    await assert.rejects(e.remove("svc"), /running; stop it first/);
    const t0 = Date.now();
    const stopped = await e.stop("svc", 300); // sleep ignores SIGTERM as pid 1: SIGKILL after the grace
    assert.ok(Date.now() - t0 >= 300);
    assert.equal(stopped.state, "exited");
    assert.equal(stopped.exitSignal, 9);
    await e.remove("svc");
    assert.throws(() => e.get("svc"), NotFoundError);
  });

  test("stop ends a container that handles SIGTERM without waiting for the grace period", async () => {
    const c = await sb.engine.runDetached({
      rootfs: sb.image,
      args: ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.05; done"],
    });
    await sleep(100);
    const t0 = Date.now();
    const stopped = await sb.engine.stop(c.id, 5000);
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(stopped.exitCode, 0);
    await sb.engine.remove(c.id);
  });

  test("kill delivers the signal asked for", async () => {
    const c = await sb.engine.runDetached({
      rootfs: sb.image,
      args: ["/bin/sh", "-c", "trap 'exit 42' USR1; while true; do sleep 0.05; done"],
    });
    await sleep(100);
    sb.engine.kill(c.id, "SIGUSR1");
    const done = await sb.engine.waitExit(c.id, 3000);
    assert.equal(done.exitCode, 42);
    await sb.engine.remove(c.id);
  });

  test("survives an engine restart: a new engine on the same root re-adopts it, limits and all", async () => {
    const c = await sb.engine.runDetached({
      rootfs: sb.image,
      name: "durable",
      args: ["/bin/sleep", "1000"],
      limits: { pidsLimit: 9 },
    });
    sb.engine.update("durable", { pidsLimit: 11 });
    const root = sb.engine.root;
    const again = Engine.open(root);
    try {
      const seen = again.get("durable");
      assert.equal(seen.state, "running");
      assert.equal(seen.pid, c.pid);
      assert.equal(seen.limits.pidsLimit, 11);
      assert.equal(again.inspect("durable").updates.length, 1);
      assert.equal(await again.exec("durable", ["/bin/true"], [], "pipe"), 0);
      await again.remove("durable", true);
    } finally {
      again.close();
    }
  });

  test("with a user namespace runs as root inside, an unprivileged uid outside, over a shifted rootfs", async () => {
    const c = await sb.engine.runDetached({
      rootfs: sb.image,
      userns: true,
      args: ["/bin/sh", "-c", "id -u; cat /proc/self/uid_map; stat -c %u /bin/busybox; exec sleep 1000"],
    });
    const out = await eventually("the output", 3000, () => {
      const l = sb.engine.logs(c.id).trim().split("\n");
      return l.length >= 3 ? l : undefined;
    });
    assert.equal(out[0], "0");
    assert.deepEqual(out[1].trim().split(/\s+/), ["0", "100000", "65536"]);
    assert.equal(out[2], "0");
    const hostUid = readFileSync(`/proc/${c.pid}/status`, "utf8").match(/^Uid:\s+(\d+)/m)?.[1];
    assert.equal(hostUid, "100000");
    assert.equal(await sb.engine.exec(c.id, ["/bin/sh", "-c", "test $(id -u) = 0"], [], "pipe"), 0);
    await sb.engine.remove(c.id, true);
  });

  test("refuses bad input with errors that say what is wrong", async () => {
    assert.throws(() => sb.engine.prepare({ rootfs: `${sb.dir}/nope`, args: ["/bin/true"] }), UsageError);
    assert.throws(
      () => sb.engine.prepare({ rootfs: `${sb.dir}/nope`, args: ["/bin/true"] }),
      /rootfs .*nope does not exist/,
    );
    assert.throws(() => sb.engine.get("no-such-container"), /no such container: no-such-container/);
    await assert.rejects(
      sb.engine.runDetached({ rootfs: sb.image, args: ["/bin/not-there"] }),
      /exec \/bin\/not-there: No such file/,
    );
    assert.equal(sb.engine.list().length, 0, "a failed start leaves nothing behind");
  });
});
