import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { exampleConfig } from "./oci.js";
import { REPO_ROOT } from "./params.js";
import { eventually, type Sandbox, SKIP_UNLESS_ROOT, sandbox } from "./test-support.js";

describe("the runc-compatible entry point", { skip: SKIP_UNLESS_ROOT }, () => {
  let sb: Sandbox;
  let root: string;
  const oci = (...args: string[]) => {
    const r = spawnSync(
      process.execPath,
      [join(REPO_ROOT, "dist", "containers", "oci-main.js"), "--root", root, ...args],
      {
        encoding: "utf8",
      },
    );
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const state = (id: string) =>
    JSON.parse(oci("state", id).stdout) as { status: string; pid?: number; id: string; bundle: string };

  before(() => {
    sb = sandbox();
    root = sb.engine.root;
  });
  after(async () => {
    await sb.cleanup();
  });

  function bundle(name: string, config: unknown): string {
    const dir = join(sb.dir, name);
    mkdirSync(dir);
    writeFileSync(join(dir, "config.json"), typeof config === "string" ? config : JSON.stringify(config));
    return dir;
  }

  test("create, start, state, kill and delete walk a container through the runtime-spec states", async () => {
    const config = exampleConfig(["/bin/sh", "-c", "echo from-oci; exec sleep 1000"], { pids: 16 }) as {
      root: { path: string };
    };
    config.root.path = sb.image;
    const dir = bundle("b1", config);
    const pidFile = join(sb.dir, "b1.pid");
    const created = oci("create", "--bundle", dir, "--pid-file", pidFile, "web");
    assert.equal(created.status, 0, created.stderr);
    const s1 = state("web");
    assert.equal(s1.status, "created");
    assert.equal(s1.id, "web");
    assert.equal(s1.bundle, dir);
    assert.equal(Number(readFileSync(pidFile, "utf8")), s1.pid);
    assert.equal(sb.engine.logs("web"), "", "nothing has run before start");
    assert.equal(oci("start", "web").status, 0);
    assert.equal(state("web").status, "running");
    await eventually("the output", 3000, () =>
      sb.engine.logs("web").includes("from-oci") ? true : undefined,
    );
    assert.equal(sb.engine.stats("web").pidsLimit, 16, "linux.resources applied");
    const refused = oci("delete", "web");
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^rvisor-oci: cannot delete container web that is not stopped: running\n$/);
    assert.equal(oci("kill", "web", "KILL").status, 0);
    await eventually("the stop", 3000, () => (state("web").status === "stopped" ? true : undefined));
    assert.equal(oci("delete", "web").status, 0);
    assert.match(oci("state", "web").stderr, /no such container: web/);
  });

  test("delete --force removes a running container", () => {
    const config = exampleConfig(["/bin/sleep", "1000"]) as { root: { path: string } };
    config.root.path = sb.image;
    const dir = bundle("b2", config);
    assert.equal(oci("create", "-b", dir, "w2").status, 0);
    assert.equal(oci("start", "w2").status, 0);
    assert.equal(oci("delete", "--force", "w2").status, 0);
    assert.equal(oci("list").stdout, "");
  });

  test("bad bundles and unknown containers fail with one line naming the problem", () => {
    const broken = bundle("b3", "{ not json");
    const r1 = oci("create", "-b", broken, "x1");
    assert.equal(r1.status, 1);
    assert.match(r1.stderr, /^rvisor-oci: bundle .*b3: config.json is not valid JSON: .*\n$/);
    const noArgs = bundle("b4", { root: { path: sb.image }, process: {} });
    assert.match(oci("create", "-b", noArgs, "x2").stderr, /config.json process.args is missing or empty/);
    const noRoot = bundle("b5", { root: { path: "missing-rootfs" }, process: { args: ["/bin/true"] } });
    assert.match(
      oci("create", "-b", noRoot, "x3").stderr,
      /config.json root.path: .*missing-rootfs does not exist/,
    );
    assert.match(
      oci("create", "-b", join(sb.dir, "nowhere"), "x4").stderr,
      /bundle .*nowhere: no config.json/,
    );
    const r5 = oci("start", "ghost");
    assert.equal(r5.status, 1);
    assert.equal(r5.stderr, "rvisor-oci: no such container: ghost\n");
    assert.equal(oci("list").stdout, "", "failed creates leave nothing behind");
  });
});
