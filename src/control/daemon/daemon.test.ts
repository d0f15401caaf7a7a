/**
 * rvisord end to end: a daemon in this process on a temporary socket and state directory, domains
 * created from config files over the API (and through the `rvisor` CLI as a child process), the guest
 * kernels' self-tests run to their power-off, pause / unpause / destroy, console input and output, the
 * store entries, config errors, the socket's mode, and the SQLite definitions across a restart.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createDiskImage } from "../../hypervisor/virtio/qcow2-create.js";
import type { DomainInfo } from "./api.js";
import { DaemonApiError, DaemonNotRunningError, RvisordClient } from "./client.js";
import { Rvisord } from "./server.js";
import { StateDb } from "./state-db.js";
import { rvisorAt, waitFor } from "./test-support.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const kernels = join(root, "build/guest/kernel");
const PASSED = "tests: 15 passed, 0 failed";

const dir = mkdtempSync(join(tmpdir(), "rvisord-test-"));
const socket = join(dir, "rvisord.sock");
const state = join(dir, "state");

function cfg(name: string, lines: string): string {
  const path = join(dir, `${name}.cfg`);
  writeFileSync(path, `name = "${name}"\nmemory = 32\n${lines}\n`);
  return path;
}

async function createFrom(c: RvisordClient, path: string) {
  const { readFileSync } = await import("node:fs");
  return c.create({ config: readFileSync(path, "utf8"), path });
}

const find = (list: DomainInfo[], name: string) => list.find((d) => d.name === name);

const rvisor = (...args: string[]) => rvisorAt(socket, ...args);

describe("rvisord", () => {
  let daemon: Rvisord;
  const c = new RvisordClient(socket);

  before(async () => {
    daemon = await Rvisord.start({ socketPath: socket, stateDir: state, pcpus: 2, hostMemoryMiB: 256 });
  });

  after(async () => {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("listens on a unix socket only its owner may use, and describes the host", async () => {
    const st = statSync(socket);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    const info = await c.info();
    assert.equal(info.pcpus, 2);
    assert.equal(info.api, "v1");
    assert.equal(info.totalMemoryMiB, 256);
    assert.ok(info.freeFrames > 0 && info.freeFrames <= info.totalFrames);
    assert.equal(info.scheduler, "credit");
    const list = await c.list();
    assert.deepEqual(
      list.map((d) => [d.id, d.name, d.mode]),
      [[0, "Domain-0", "control"]],
    );
  });

  it("runs a trap and a pv domain from config files to their self-tests' power-off", async () => {
    const trap = await createFrom(c, cfg("t1", `type = "trap"\nkernel = "${kernels}/kernel-autotest.elf"`));
    const pv = await createFrom(
      c,
      cfg("p1", `type = "pv"\nkernel = "${kernels}/kernel-pv-autotest.elf"\nvcpus = 1`),
    );
    assert.equal(trap.state, "running");
    assert.equal(trap.mode, "trap");
    assert.equal(pv.mode, "pv");
    assert.notEqual(trap.id, pv.id);
    // The store has the domains' trees while they run.
    const name = await c.storeRead(`/local/domain/${trap.id}/name`);
    assert.equal(name.value, "t1");
    assert.equal((await c.storeRead(`/local/domain/${pv.id}/memory/target`)).value, String(32 * 1024));
    const listed = await c.list();
    assert.equal(find(listed, "t1")?.id, trap.id);
    assert.equal(find(listed, "t1")?.memoryMiB, 32);

    for (const d of ["t1", "p1"]) {
      const done = await waitFor(`${d} to pass its tests and power off`, async () => {
        const it = find(await c.list(), d);
        return it?.state === "stopped" ? it : undefined;
      });
      assert.deepEqual(done.end, { state: "shutdown", code: 0, reason: "poweroff" });
      assert.equal(done.id, null);
      assert.match((await c.console(d)).text, new RegExp(PASSED));
    }
    // on_poweroff = destroy (the default): the store entries went with the domain.
    await assert.rejects(
      c.storeRead(`/local/domain/${trap.id}`),
      (e) => e instanceof DaemonApiError && e.status === 404,
    );
    const info = await c.info();
    assert.equal(info.freeFrames + 0 >= (info.totalFrames * 3) / 4, true, "the domains' memory came back");
  });

  it("pauses, unpauses and destroys a domain, by name or id, and takes console input", async () => {
    const d = await createFrom(c, cfg("shell", `type = "trap"\nkernel = "${kernels}/kernel.elf"`));
    await waitFor("the shell prompt", async () =>
      (await c.console("shell")).text.includes("$ ") ? true : undefined,
    );
    await c.sendInput("shell", "help\n");
    await waitFor("the shell's help", async () =>
      (await c.console(d.id!)).text.includes("the process table") ? true : undefined,
    );

    assert.equal((await c.pause("shell")).state, "paused");
    assert.equal(find(await c.list(), "shell")?.state, "paused");
    await assert.rejects(c.pause(d.id!), (e) => e instanceof DaemonApiError && e.status === 409);
    const before = (await c.console("shell")).to;
    await c.sendInput("shell", "help\n");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await c.console("shell")).to, before, "a paused domain prints nothing");
    assert.equal((await c.unpause(d.id!)).state, "running");
    await waitFor("the paused input to be handled", async () =>
      (await c.console("shell")).to > before ? true : undefined,
    );

    const destroyed = await c.destroy("shell");
    assert.equal(destroyed.state, "stopped");
    assert.equal(destroyed.end?.reason, "destroyed");
    await assert.rejects(
      c.storeRead(`/local/domain/${d.id}`),
      (e) => e instanceof DaemonApiError && e.status === 404,
    );
    await assert.rejects(c.destroy("shell"), (e) => e instanceof DaemonApiError && e.status === 409);
    await assert.rejects(c.pause(0), (e) => e instanceof DaemonApiError && e.status === 400);
    await assert.rejects(c.pause("nobody"), (e) => e instanceof DaemonApiError && e.status === 404);
  });

  it("puts each vif on its bridge's switch, so domains on one bridge can ping each other", async () => {
    const vif = (mac: string) => `vif = [ "mac=${mac}, bridge=xenbr0" ]`;
    const kernel = `type = "trap"\nkernel = "${kernels}/kernel.elf"`;
    const a = await createFrom(c, cfg("net-a", `${kernel}\n${vif("00:16:3e:00:00:aa")}`));
    const b = await createFrom(c, cfg("net-b", `${kernel}\n${vif("00:16:3e:00:00:bb")}`));
    for (const name of ["net-a", "net-b"])
      await waitFor(`${name}'s prompt`, async () =>
        (await c.console(name)).text.includes("$ ") ? true : undefined,
      );
    await c.sendInput("net-a", "ping 10.0.0.187 1\n");
    const out = await waitFor("the ping's summary", async () => {
      const text = (await c.console("net-a")).text;
      return text.includes("packet loss") ? text : undefined;
    });
    assert.match(out, /^eth0: virtio-net, MAC 00:16:3e:00:00:aa, inet 10\.0\.0\.170$/m);
    assert.match(out, /^1 packets transmitted, 1 received, 0% packet loss/m);
    const sw = daemon.bridges.get("xenbr0");
    assert.deepEqual(
      sw.portList.map((p) => p.name),
      [`vif${a.id}.0`, `vif${b.id}.0`],
    );
    await c.destroy("net-a");
    await c.destroy("net-b");
    assert.equal(sw.portList.length, 0, "a destroyed domain's port is gone");
  });

  it("streams a console as server-sent events until the domain stops", async () => {
    await createFrom(c, cfg("streamed", `type = "pv"\nkernel = "${kernels}/kernel-pv-autotest.elf"`));
    let text = "";
    let end: unknown;
    await c.streamConsole("streamed", (e) => {
      if (e.kind === "output") text += e.text;
      else end = e.end;
    });
    assert.match(text, new RegExp(PASSED));
    assert.deepEqual(end, { state: "shutdown", code: 0, reason: "poweroff" });
  });

  it("keeps a powered-off domain with on_poweroff = preserve until it is destroyed", async () => {
    const d = await createFrom(
      c,
      cfg("kept", `type = "trap"\nkernel = "${kernels}/kernel-autotest.elf"\non_poweroff = "preserve"`),
    );
    const ended = await waitFor("kept to power off", async () => {
      const it = find(await c.list(), "kept");
      return it?.state === "shutdown" ? it : undefined;
    });
    assert.equal(ended.id, d.id, "a preserved domain keeps its id");
    assert.equal(ended.end?.reason, "poweroff");
    assert.equal((await c.storeRead(`/local/domain/${d.id}/name`)).value, "kept");
    assert.equal((await c.destroy(d.id!)).state, "stopped");
    await assert.rejects(c.storeRead(`/local/domain/${d.id}`), (e) => e instanceof DaemonApiError);
  });

  it("refuses a bad config with the parser's file:line: key message, and a taken name", async () => {
    const bad = cfg("bad", `type = "trap"\nkernel = "${kernels}/kernel-autotest.elf"\nvcpu = 2`);
    await assert.rejects(
      createFrom(c, bad),
      (e) => e instanceof DaemonApiError && e.status === 400 && e.message.startsWith(`${bad}:5: vcpu:`),
    );
    const badMem = cfg("bad2", `type = "trap"\nkernel = "${kernels}/kernel-autotest.elf"\nmemory = "lots"`);
    await assert.rejects(
      createFrom(c, badMem),
      (e) => e instanceof DaemonApiError && e.status === 400 && e.message.includes(`${badMem}:5: memory:`),
    );
    const noKernel = cfg("nok", `type = "trap"\nkernel = "${dir}/missing.elf"`);
    await assert.rejects(createFrom(c, noKernel), (e) => e instanceof DaemonApiError && e.status === 400);
    const shell = cfg("shell2", `type = "trap"\nkernel = "${kernels}/kernel.elf"`);
    await createFrom(c, shell);
    await assert.rejects(createFrom(c, shell), (e) => e instanceof DaemonApiError && e.status === 409);
    await c.destroy("shell2");
    assert.equal(find(await c.list(), "bad"), undefined, "a refused config is not defined");
  });

  it("attaches a config's disks (a qcow2 overlay, a raw image): the guest's suite tests them, and a missing image is refused by name", async () => {
    const base = join(dir, "base.img");
    writeFileSync(base, Buffer.alloc(64 * 512, 0x17));
    const image = join(dir, "data.qcow2");
    createDiskImage(image, { format: "qcow2", backingFile: "base.img" });
    const readOnly = join(dir, "ro.img");
    writeFileSync(readOnly, Buffer.alloc(64 * 512, 0x42));
    await createFrom(
      c,
      cfg(
        "disks",
        `type = "hvm"\nkernel = "${kernels}/kernel-autotest.elf"\n` +
          `disk = [ "${image},qcow2,xvda,rw", "format=raw, vdev=xvdb, access=ro, target=${readOnly}" ]`,
      ),
    );
    await waitFor("disks to pass its tests and power off", async () => {
      const it = find(await c.list(), "disks");
      return it?.state === "stopped" ? it : undefined;
    });
    const out = (await c.console("disks")).text;
    assert.match(out, /^blk0: virtio-blk, 64 sectors \(32 KiB\)$/m);
    assert.match(out, /^blk1: virtio-blk, 64 sectors \(32 KiB\), read-only$/m);
    assert.match(out, /^PASS blk$/m);
    assert.match(out, /tests: 16 passed, 0 failed/);
    assert.deepEqual(readFileSync(base), Buffer.alloc(64 * 512, 0x17), "the overlay's base is unchanged");
    const missing = join(dir, "missing.img");
    const bad = cfg(
      "nodisk",
      `type = "trap"\nkernel = "${kernels}/kernel-autotest.elf"\ndisk = [ "${missing},,xvda" ]`,
    );
    await assert.rejects(
      createFrom(c, bad),
      (e) =>
        e instanceof DaemonApiError &&
        e.status === 400 &&
        e.message === `${bad}: nodisk: disk image ${missing}: no such file`,
    );
    assert.equal(find(await c.list(), "nodisk"), undefined);
  });

  it("serves the rvisor CLI: list, host-info, create, console, destroy", async () => {
    const list = await rvisor("list");
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^Name +ID +Mem VCPUs +State +Time\(s\) +Mode\n/);
    assert.match(list.stdout, /\nDomain-0 +0 +\d+ +1 +r----- /);
    assert.match(list.stdout, /\nt1 +- +32 +1 +------ .* trap \(stopped: poweroff\)/);
    const json = JSON.parse((await rvisor("list", "--json")).stdout) as DomainInfo[];
    assert.equal(json[0].name, "Domain-0");
    assert.match((await rvisor("host-info")).stdout, /nr_cpus +: 2\n/);

    const created = await rvisor("create", cfg("cli1", `type = "trap"\nkernel = "${kernels}/kernel.elf"`));
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, /Created cli1 \(id \d+, trap\)/);
    await waitFor("cli1's prompt", async () =>
      (await c.console("cli1")).text.includes("$ ") ? true : undefined,
    );
    assert.match((await rvisor("console", "cli1")).stdout, /type help for the commands/);
    assert.equal((await rvisor("pause", "cli1")).code, 0);
    assert.equal((await rvisor("unpause", "cli1")).code, 0);
    assert.equal((await rvisor("destroy", "cli1")).code, 0);
    const again = await rvisor("destroy", "cli1");
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^rvisor: cli1 is not running/);
    const bad = await rvisor(
      "create",
      cfg("clibad", `type = "trap"\nkernel = "${kernels}/kernel.elf"\nmemroy = 8`),
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /clibad\.cfg:5: memroy: .*memory/);
  });

  it("says how to start the daemon when it is not running", async () => {
    const gone = join(dir, "nobody.sock");
    await assert.rejects(new RvisordClient(gone).list(), (e) => e instanceof DaemonNotRunningError);
    const r = await rvisor("list", "--socket", gone);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `rvisor: rvisord is not running at ${gone}: start it with \`rvisor daemon\`\n`);
  });

  it("keeps domain configs in SQLite across a restart: listed as stopped, and startable", async () => {
    await daemon.stop();
    const db = new StateDb(state);
    assert.deepEqual(
      db.get("disks")?.config.disks.map((d) => [d.format, d.target]),
      [
        ["qcow2", join(dir, "data.qcow2")],
        ["raw", join(dir, "ro.img")],
      ],
    );
    db.close();
    assert.throws(() => statSync(socket), "the socket is removed on stop");
    await assert.rejects(c.list(), (e) => e instanceof DaemonNotRunningError);
    daemon = await Rvisord.start({ socketPath: socket, stateDir: state, pcpus: 2, hostMemoryMiB: 256 });
    const list = await c.list();
    for (const name of ["t1", "p1", "shell", "streamed", "kept", "cli1"]) {
      const d = find(list, name);
      assert.equal(d?.state, "stopped", name);
      assert.equal(d?.id, null);
    }
    assert.equal(find(list, "t1")?.mode, "trap");
    assert.equal(find(list, "bad"), undefined);
    const started = await c.start("t1");
    assert.equal(started.state, "running");
    await waitFor("t1 to pass again", async () => {
      const d = find(await c.list(), "t1");
      return d?.state === "stopped" && d.end?.reason === "poweroff" ? true : undefined;
    });
    assert.match((await c.console("t1")).text, new RegExp(PASSED));
  });
});
