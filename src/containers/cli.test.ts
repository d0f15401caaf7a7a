import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { exampleConfig } from "./oci.js";
import { REPO_ROOT } from "./params.js";
import {
  ctrArgv,
  ctrCli,
  eventually,
  type Sandbox,
  SKIP_UNLESS_ROOT,
  sandbox,
  sleep,
} from "./test-support.js";

describe("rvisor ctr", { skip: SKIP_UNLESS_ROOT }, () => {
  let sb: Sandbox;
  const ctr = (...args: string[]) => ctrCli(sb.engine.root, args);
  before(() => {
    sb = sandbox();
  });
  after(async () => {
    await sb.cleanup();
  });

  test("run in the foreground passes the container's output and exit status through", () => {
    const r = ctr("run", "--hostname", "fg", sb.image, "/bin/sh", "-c", "hostname; exit 5");
    assert.equal(r.status, 5);
    assert.equal(r.stdout, "fg\n");
  });

  test("run takes an OCI bundle's process, hostname and limits from its config.json", () => {
    const bundle = join(sb.dir, "bundle");
    mkdirSync(bundle);
    const config = exampleConfig(["/bin/sh", "-c", "hostname; cat /proc/self/cgroup | grep -c rvisor"], {
      pids: 12,
    }) as {
      root: { path: string };
    };
    config.root.path = sb.image;
    writeFileSync(join(bundle, "config.json"), JSON.stringify(config));
    const r = ctr("run", bundle);
    assert.equal(r.status, 0, r.stderr);
    const [host, cgroups] = r.stdout.trim().split("\n");
    assert.equal(host, "oci");
    assert.ok(Number(cgroups) >= 3, "the process runs in the engine's cgroups");
  });

  test("a foreground run passes SIGINT on to the container and records how it ended", async () => {
    const child = spawn(
      process.execPath,
      ctrArgv(sb.engine.root, [
        "run",
        "--name",
        "fg-int",
        sb.image,
        "/bin/sh",
        "-c",
        "trap 'echo got INT; exit 130' INT; while true; do sleep 0.05; done",
      ]),
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const status = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await eventually("the container", 30_000, () =>
      sb.engine.list().some((c) => c.name === "fg-int" && c.state === "running") ? true : undefined,
    );
    await sleep(100); // the trap is set once the shell runs its script
    child.kill("SIGINT");
    assert.equal(await status, 130);
    assert.equal(out, "got INT\n");
    assert.equal(sb.engine.get("fg-int").exitCode, 130);
  });

  test("run -d, ps, exec, logs, stats, update, inspect, stop and rm work together", async () => {
    const run = ctr(
      "run",
      "-d",
      "--name",
      "c1",
      "--memory",
      "64M",
      "--pids-limit",
      "20",
      sb.image,
      "/bin/sh",
      "-c",
      "echo hi; exec sleep 1000",
    );
    assert.equal(run.status, 0, run.stderr);
    const id = run.stdout.trim();
    assert.match(id, /^[0-9a-f]{12}$/);
    assert.match(ctr("ps").stdout, new RegExp(`${id}\\s+c1\\s+running`));
    const ex = ctr("exec", "c1", "/bin/sh", "-c", "echo inside $(hostname)");
    assert.equal(ex.stdout, `inside ${id}\n`);
    await eventually("the log", 3000, () => (ctr("logs", "c1").stdout === "hi\n" ? true : undefined));
    assert.match(ctr("stats", "c1").stdout, /memory .* \/ 64\.0 MiB .* pids 1 \/ 20/);
    const up = ctr("update", "--memory", "128M", "--cpus", "0.5", "c1");
    assert.equal(up.status, 0, up.stderr);
    assert.match(up.stdout, /^updated in \d+\.\d+ ms\n$/);
    const inspected = ctr("inspect", "c1");
    assert.equal(inspected.status, 0, inspected.stderr);
    const info = JSON.parse(inspected.stdout);
    assert.equal(info.record.limits.memory, 128 << 20);
    assert.equal(info.record.limits.cpus, 0.5);
    assert.equal(info.updates.length, 1);
    assert.equal(ctr("stop", "-t", "0.2", "c1").status, 0);
    assert.match(ctr("ps", "-a").stdout, /c1\s+exited \(137\)/);
    assert.equal(ctr("rm", "c1").status, 0);
    assert.doesNotMatch(ctr("ps", "-a").stdout, /\bc1\b/);
  });

  test("bad input gets one line on stderr and exit status 2", () => {
    const cases: [string[], RegExp][] = [
      [
        ["run", `${sb.dir}/missing`, "/bin/true"],
        /^rvisor: rootfs .*missing does not exist or is not a directory\n$/,
      ],
      [["exec", "nobody", "/bin/true"], /^rvisor: no such container: nobody\n$/],
      [["run", "--memory", "lots", sb.image, "/bin/true"], /^rvisor: --memory: 'lots' is not a size/],
      [["run", "--net", "host", sb.image, "/bin/true"], /^rvisor: --net: 'host' is not none or bridge\n$/],
      [["kill", "-s", "BOGUS", "nobody"], /^rvisor: (no such container: nobody|unknown signal 'BOGUS')\n$/],
    ];
    for (const [args, message] of cases) {
      const r = ctr(...args);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  test("update below what a container uses is refused with exit status 1 and the usage", async () => {
    const run = ctr(
      "run",
      "-d",
      "--memory",
      "64M",
      sb.image,
      "/bin/sh",
      "-c",
      "mount -t tmpfs t /tmp; dd if=/dev/zero of=/tmp/f bs=1M count=20; exec sleep 1000",
    );
    const id = run.stdout.trim();
    await eventually("the fill", 5000, () => (sb.engine.stats(id).memoryBytes > 16 << 20 ? true : undefined));
    const r = ctr("update", "--memory", "4M", id);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /^rvisor: cannot lower the memory limit to 4\.0 MiB: the container uses \d+\.\d MiB/,
    );
    assert.equal(ctr("rm", "-f", id).status, 0);
  });
});
