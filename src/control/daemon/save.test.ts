/**
 * rvisord's save and restore end to end: domains of every mode saved part way through their test suite
 * while others run, restored, and finishing it (each test once, no second boot) with the memory hash the
 * save reported; a checkpoint that runs on; files that are cut short, corrupted, of another version or
 * not images at all refused with a clear error and nothing changed; and the `rvisor save` / `restore`
 * verbs, restoring into a second daemon process whose console then goes on answering.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { testResultLines } from "../../testing/kernel.js";
import type { DomainInfo } from "./api.js";
import { DaemonApiError, RvisordClient } from "./client.js";
import { Rvisord } from "./server.js";
import { waitFor } from "./test-support.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const kernels = join(root, "build/guest/kernel");
const cli = join(root, "dist/cli/main.js");
const run = promisify(execFile);
const PASSED = "tests: 15 passed, 0 failed";
const SUITE = 15;

const dir = mkdtempSync(join(tmpdir(), "rvisord-save-test-"));
const socket = join(dir, "rvisord.sock");
const state = join(dir, "state");

function cfg(name: string, lines: string): string {
  const path = join(dir, `${name}.cfg`);
  writeFileSync(path, `name = "${name}"\nmemory = 32\n${lines}\n`);
  return path;
}

const autotest = (mode: string) =>
  `type = "${mode}"\nkernel = "${kernels}/${mode === "pv" ? "kernel-pv-autotest.elf" : "kernel-autotest.elf"}"`;

async function createFrom(c: RvisordClient, path: string) {
  return c.create({ config: readFileSync(path, "utf8"), path });
}

const find = (list: DomainInfo[], name: string) => list.find((d) => d.name === name);

/** Waits until `name` has printed `n` test results. */
const resultsAtLeast = (c: RvisordClient, name: string, n: number) =>
  waitFor(`${name} to pass ${n} tests`, async () =>
    testResultLines((await c.console(name)).text).length >= n ? true : undefined,
  );

const finished = (c: RvisordClient, name: string) =>
  waitFor(`${name} to finish its suite`, async () => {
    const d = find(await c.list(), name);
    return d?.state === "stopped" && d.end?.reason === "poweroff" ? d : undefined;
  });

/** The suite's result lines of one run in two halves: each test once, in order, then the summary. */
function assertWholeSuite(text: string, name: string): void {
  const lines = testResultLines(text);
  assert.equal(lines.length, SUITE + 1, `${name}:\n${text}`);
  assert.equal(lines.at(-1), PASSED);
  assert.equal(new Set(lines).size, lines.length, `${name}: no test ran twice`);
  assert.equal(text.match(/guest kernel on hart/g)?.length, 1, `${name} booted once`);
}

async function rvisor(env: NodeJS.ProcessEnv, ...args: string[]) {
  try {
    const r = await run(process.execPath, [cli, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** What must not change when a request is refused: the domains, their states, the free memory. */
async function snapshotOf(c: RvisordClient) {
  const list = (await c.list()).map((d) => [d.name, d.id, d.state, d.end?.reason ?? null]);
  return { list, free: (await c.info()).freeFrames };
}

describe("rvisord save and restore", () => {
  let daemon: Rvisord;
  const c = new RvisordClient(socket);

  before(async () => {
    daemon = await Rvisord.start({ socketPath: socket, stateDir: state, pcpus: 2, hostMemoryMiB: 256 });
  });

  after(async () => {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("saves trap, bt, pv and hvm domains part way while the others run, and each finishes its suite once restored", async () => {
    const modes = ["trap", "bt", "pv", "hvm"];
    for (const m of modes) await createFrom(c, cfg(`sr-${m}`, autotest(m)));
    const before = new Map<string, string>();
    const saved = new Map<string, { memoryHash: string; path: string }>();
    for (const m of modes) {
      const name = `sr-${m}`;
      await resultsAtLeast(c, name, 3);
      const path = join(dir, `${name}.img`);
      const r = await c.save(name, { path });
      assert.equal(r.domain.state, "stopped");
      assert.equal(r.domain.end?.reason, "saved");
      assert.equal(readFileSync(path).length, r.bytes);
      // Page records: 8 bytes each, 4096 more for a page that is not all zeros; then a little JSON.
      const records = 8 * r.pages + 4096 * (r.pages - r.zeroPages);
      assert.equal(r.pages, 8192);
      assert.ok(r.zeroPages > 0 && r.bytes > records && r.bytes < records + 64 * 1024, JSON.stringify(r));
      before.set(name, (await c.console(name)).text);
      saved.set(name, { memoryHash: r.memoryHash, path });
      assert.ok(!before.get(name)?.includes(PASSED), `${name} was saved part way`);
    }
    const listed = await c.list();
    for (const m of modes) assert.equal(find(listed, `sr-${m}`)?.state, "stopped");

    for (const m of modes) {
      const name = `sr-${m}`;
      const s = saved.get(name);
      assert.ok(s !== undefined);
      const d = await c.restore({ path: s.path });
      assert.equal(d.name, name);
      assert.equal(d.mode, m);
      assert.equal(d.state, "running");
      assert.equal(d.memoryHash, s.memoryHash, `${name}: the restored memory is the saved memory`);
      assert.equal((await c.storeRead(`/local/domain/${d.id}/name`)).value, name);
    }
    for (const m of modes) {
      const name = `sr-${m}`;
      await finished(c, name);
      assertWholeSuite((before.get(name) ?? "") + (await c.console(name)).text, name);
    }
  });

  it("keeps a checkpointed domain running, and its image restores once the original is gone", async () => {
    await createFrom(c, cfg("cp", autotest("pv")));
    await resultsAtLeast(c, "cp", 4);
    const path = join(dir, "cp.img");
    // -c -p: it stays paused, so what it printed up to the checkpoint can be read before it goes on.
    const r = await c.save("cp", { path, checkpoint: true, paused: true });
    assert.equal(r.domain.state, "paused");
    const head = (await c.console("cp")).text;
    await c.unpause("cp");
    await finished(c, "cp");
    assertWholeSuite((await c.console("cp")).text, "cp, checkpointed");

    const d = await c.restore({ path, paused: true });
    assert.equal(d.state, "paused");
    assert.equal(d.memoryHash, r.memoryHash);
    await new Promise((res) => setTimeout(res, 200));
    assert.equal((await c.console("cp")).to, 0, "a paused restore runs nothing");
    await c.unpause("cp");
    await finished(c, "cp");
    assertWholeSuite(head + (await c.console("cp")).text, "cp, restored");
  });

  it("refuses a truncated, corrupted, other-version or non-image file saying why, and changes nothing", async () => {
    await createFrom(c, cfg("idle", `type = "trap"\nkernel = "${kernels}/kernel.elf"`));
    await waitFor("idle's prompt", async () =>
      (await c.console("idle")).text.includes("$ ") ? true : undefined,
    );
    const good = join(dir, "idle.img");
    await c.save("idle", { path: good, checkpoint: true, paused: true });
    assert.equal(find(await c.list(), "idle")?.state, "paused");
    const bytes = readFileSync(good);
    const variant = (name: string, b: Buffer) => {
      const p = join(dir, name);
      writeFileSync(p, b);
      return p;
    };
    const flipped = Buffer.from(bytes);
    flipped[bytes.length >> 1] ^= 1;
    const v2 = Buffer.from(bytes);
    v2.writeUInt32LE(2, 8);
    createHash("sha256")
      .update(v2.subarray(0, -32))
      .digest()
      .copy(v2, v2.length - 32);
    const cases: [string, RegExp][] = [
      [
        variant("cut.img", bytes.subarray(0, bytes.length - 100)),
        /cut\.img is truncated: the image is \d+ bytes long/,
      ],
      [
        variant("flip.img", flipped),
        /flip\.img is corrupted: the SHA-256 of bytes 0\.\.\d+ is [0-9a-f]+, but the checksum at offset/,
      ],
      [variant("v2.img", v2), /v2\.img: save format version 2 \(offset 8\); this rvisor reads version 1/],
      [
        cfg("notimage", `type = "trap"\nkernel = "${kernels}/kernel.elf"`),
        /notimage\.cfg is not an rvisor save image: bytes 0\.\.7 are "name = \\""/,
      ],
      [join(dir, "nothing.img"), /nothing\.img: cannot read the save image: ENOENT/],
      ["relative.img", /relative\.img: give the save file's absolute path/],
    ];
    const was = await snapshotOf(c);
    for (const [path, message] of cases)
      await assert.rejects(
        c.restore({ path }),
        (e) => e instanceof DaemonApiError && e.status === 400 && message.test(e.message),
        path,
      );
    // The good image while its domain still exists: the name is taken.
    await assert.rejects(
      c.restore({ path: good }),
      (e) =>
        e instanceof DaemonApiError &&
        e.status === 409 &&
        /a domain named idle already exists/.test(e.message),
    );
    assert.deepEqual(await snapshotOf(c), was);

    // A save that cannot be written leaves the domain as it was: running stays running.
    await c.unpause("idle");
    await assert.rejects(
      c.save("idle", { path: join(dir, "no-such-dir", "x.img") }),
      (e) =>
        e instanceof DaemonApiError &&
        e.status === 400 &&
        /cannot write the save image: ENOENT/.test(e.message),
    );
    assert.equal(find(await c.list(), "idle")?.state, "running");
    await c.sendInput("idle", "help\n");
    await waitFor("idle to answer", async () =>
      (await c.console("idle")).text.includes("the process table") ? true : undefined,
    );
    await c.destroy("idle");
  });

  it("saves a domain whose balloon holds half its memory mid-workload: the holes, the balloon and the store come back", async () => {
    const name = "bal";
    const path = join(dir, `${name}.cfg`);
    const text =
      `name = "${name}"\ntype = "trap"\nkernel = "${kernels}/kernel.elf"\n` +
      "memory = 32\nmaxmem = 48\nvcpus = 1\nmaxvcpus = 2\n";
    writeFileSync(path, text);
    await c.create({ config: text, path });
    await waitFor("bal's prompt", async () =>
      (await c.console(name)).text.endsWith("$ ") ? true : undefined,
    );
    await waitFor("the balloon", async () =>
      (await c.resizeInfo(name)).memory.balloon?.live ? true : undefined,
    );
    await c.vcpuSet(name, 2);
    await waitFor("2 vCPUs online", async () =>
      (await c.resizeInfo(name)).vcpusOnline === 2 ? true : undefined,
    );
    await c.memSet(name, 16 * 1024);
    await waitFor("16 MiB", async () =>
      (await c.resizeInfo(name)).memory.currentKiB === 16 * 1024 ? true : undefined,
    );
    const from = (await c.console(name)).to;
    await c.sendInput(name, "run work 2 60 -q\n");
    await waitFor("the workload to start", async () =>
      (await c.console(name, from)).text.includes("run work") ? true : undefined,
    );
    const img = join(dir, `${name}.img`);
    const r = await c.save(name, { path: img });
    assert.equal(r.pages, 4096, "only the populated half is saved");
    const head = (await c.console(name)).text;

    const d = await c.restore({ path: img });
    assert.equal(d.memoryHash, r.memoryHash, "the restored memory is the saved memory");
    const info = await c.resizeInfo(name);
    assert.equal(info.memory.currentKiB, 16 * 1024, "the ballooned pages are holes again");
    assert.equal(info.memory.maxKiB, 48 * 1024);
    assert.equal(info.memory.balloon?.heldPages, 4096);
    assert.equal(info.memory.balloon?.live, true);
    assert.equal((await c.storeRead(`/local/domain/${d.id}/memory/target`)).value, String(16 * 1024));
    assert.equal((await c.storeRead(`/local/domain/${d.id}/cpu/1/availability`)).value, "online");
    const out = await waitFor("the workload", async () => {
      const t = head + (await c.console(name)).text;
      return t.slice(t.indexOf("run work")).endsWith("\n$ ") ? t : undefined;
    });
    assert.match(out, /^work: 2 x 60 rounds, all correct$/m, out);
    assert.equal(out.match(/guest kernel on hart/g)?.length, 1, "booted once");

    // The balloon the restored guest holds gives its pages back.
    await c.memSet(name, 32 * 1024);
    await waitFor("32 MiB again", async () =>
      (await c.resizeInfo(name)).memory.currentKiB === 32 * 1024 ? true : undefined,
    );
    assert.equal((await c.resizeInfo(name)).memory.balloon?.heldPages, 0);
    await c.destroy(name);
  });

  it("serves `rvisor save` and `rvisor restore`, into a second daemon process whose console goes on", async () => {
    const env = { RVISOR_SOCKET: socket };
    const created = await rvisor(
      env,
      "create",
      cfg("moving", `type = "hvm"\nkernel = "${kernels}/kernel.elf"`),
    );
    assert.equal(created.code, 0, created.stderr);
    await waitFor("moving's prompt", async () =>
      (await c.console("moving")).text.includes("$ ") ? true : undefined,
    );
    const image = join(dir, "moving.img");
    const saved = await rvisor(env, "save", "moving", image);
    assert.equal(saved.code, 0, saved.stderr);
    assert.match(
      saved.stderr,
      /^Saved moving to .*moving\.img: [\d.]+ MiB, 8192 pages \(\d+ of zeros, not stored\); moving destroyed\n$/,
    );
    assert.match((await rvisor(env, "list")).stdout, /\nmoving +- +32 +1 +------ .* hvm \(stopped: saved\)/);

    const bad = await rvisor(env, "restore", join(dir, "moving.cfg"));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^rvisor: .*moving\.cfg is not an rvisor save image/);

    // Another daemon, another process, another host's memory: the image carries all it needs.
    const socket2 = join(dir, "second.sock");
    const second: ChildProcess = spawn(
      process.execPath,
      [
        cli,
        "daemon",
        "--socket",
        socket2,
        "--state-dir",
        join(dir, "state2"),
        "--memory",
        "96M",
        "--pcpus",
        "1",
      ],
      { stdio: "ignore" },
    );
    try {
      const c2 = new RvisordClient(socket2);
      await waitFor("the second daemon", async () => (await c2.info().catch(() => undefined)) && true);
      const restored = await rvisor({ RVISOR_SOCKET: socket2 }, "restore", image);
      assert.equal(restored.code, 0, restored.stderr);
      assert.match(
        restored.stderr,
        /^Restored moving \(id 1, hvm, running\) from .*moving\.img, saved \d{4}-/,
      );
      await c2.sendInput("moving", "help\n");
      await waitFor("the restored shell to answer", async () =>
        (await c2.console("moving")).text.includes("the process table") ? true : undefined,
      );
      assert.ok(!(await c2.console("moving")).text.includes("guest kernel on hart"), "it did not boot again");
    } finally {
      second.kill("SIGTERM");
      await new Promise((r) => second.once("exit", r));
    }
  });
});
