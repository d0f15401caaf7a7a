/**
 * rvisord's stop and start as xendomains / libvirt-guests would have them, with real daemons in this
 * process on one state directory: domains saved mid-workload by a stop and finishing it after the next
 * start restores them (each result once, no second boot, images gone); guests that listen powered off
 * gracefully and one that does not destroyed after the timeout; a save that fails falling back to
 * power-off; a second stop forcing; a corrupted image at start kept and reported with the daemon up;
 * autostart across restarts.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { DomainInfo, HostSettings } from "./api.js";
import { DaemonApiError, RvisordClient } from "./client.js";
import { Rvisord } from "./server.js";
import { waitFor } from "./test-support.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const kernels = join(root, "build/guest/kernel");
const programs = join(root, "build/guest/programs");
const KERNEL = { trap: `${kernels}/kernel.elf`, pv: `${kernels}/kernel-pv.elf` } as const;
/** The workload each guest runs at boot: 2 processes × ROUNDS rounds, a line per round, then a result. */
const ROUNDS = 60;
const RESULT = `work: 2 x ${ROUNDS} rounds, all correct`;

const dir = mkdtempSync(join(tmpdir(), "rvisord-hostlife-"));

/** One daemon on `state` with its log kept, and a client. */
async function daemonOn(state: string, host: Partial<HostSettings> = {}, restore = true) {
  const lines: string[] = [];
  const socket = join(dir, `${Math.random().toString(16).slice(2)}.sock`);
  const daemon = await Rvisord.start({
    socketPath: socket,
    stateDir: state,
    pcpus: 2,
    hostMemoryMiB: 192,
    host,
    restore,
    log: (l) => lines.push(l),
  });
  return { daemon, c: new RvisordClient(socket), lines };
}

async function create(c: RvisordClient, name: string, lines: string) {
  const path = join(dir, `${name}.cfg`);
  const text = `name = "${name}"\nmemory = 32\n${lines}\n`;
  writeFileSync(path, text);
  return c.create({ config: text, path });
}

const worker = (mode: "trap" | "pv") =>
  `type = "${mode}"\nkernel = "${KERNEL[mode]}"\nextra = "-- run work 2 ${ROUNDS}"`;

const rounds = (text: string) => text.match(/^work: round$/gm)?.length ?? 0;

/** The console text a domain's latest run printed, read from the daemon (also after its stop). */
const consoleOf = (daemon: Rvisord, name: string) =>
  daemon
    .defined()
    .find((e) => e.stored.name === name)
    ?.console?.since(0)
    .bytes.toString("utf8") ?? "";

const find = (list: DomainInfo[], name: string) => list.find((d) => d.name === name);

/** Waits until `name` shows its prompt and has announced control/feature-poweroff. */
async function listening(c: RvisordClient, name: string): Promise<void> {
  await waitFor(`${name}'s feature-poweroff`, async () => {
    const d = await c.domain(name);
    const f = await c.storeRead(`/local/domain/${d.id}/control/feature-poweroff`).catch(() => undefined);
    return f?.value === "1" ? true : undefined;
  });
}

describe("rvisord's stop and start (on-stop, restore, autostart)", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("saves a trap and a pv domain mid-workload at stop; the next start restores both and they finish it", async () => {
    const state = join(dir, "save");
    const first = await daemonOn(state, { onStop: "save" });
    await create(first.c, "w-trap", worker("trap"));
    await create(first.c, "w-pv", worker("pv"));
    // A saved domain that is also autostart is restored, not booted afresh.
    await first.c.autostart("w-pv", true);
    for (const name of ["w-trap", "w-pv"])
      await waitFor(`${name} part way`, async () =>
        rounds(consoleOf(first.daemon, name)) >= 4 ? true : undefined,
      );
    await first.daemon.stop();
    const before = new Map<string, string>();
    for (const name of ["w-trap", "w-pv"]) {
      const text = consoleOf(first.daemon, name);
      assert.ok(!text.includes(RESULT) && rounds(text) < 2 * ROUNDS, `${name} was saved part way:\n${text}`);
      before.set(name, text);
      const image = join(state, "saved", `${name}.rvsave`);
      assert.ok(existsSync(image), image);
      assert.equal(first.daemon.defined().find((e) => e.stored.name === name)?.end?.reason, "saved");
    }
    assert.ok(first.lines.some((l) => /stopping: 2 domain\(s\) to save/.test(l)));

    const second = await daemonOn(state);
    const listed = await second.c.list();
    for (const name of ["w-trap", "w-pv"]) {
      const d = find(listed, name);
      assert.equal(d?.state, "running", `${name} restored by the start`);
      assert.equal(d?.saved, undefined);
      assert.ok(!existsSync(join(state, "saved", `${name}.rvsave`)), "the image is removed once restored");
      assert.ok(second.lines.some((l) => l.includes(`${name} (id ${d?.id}): its saved image of `)));
    }
    assert.equal(find(listed, "w-pv")?.autostart, true);
    assert.ok(second.lines.some((l) => /w-pv: autostart/.test(l)) === false, "not booted afresh as well");
    for (const name of ["w-trap", "w-pv"]) {
      const text = await waitFor(`${name}'s result`, async () => {
        const t = (before.get(name) ?? "") + consoleOf(second.daemon, name);
        return t.includes(RESULT) ? t : undefined;
      });
      assert.equal(rounds(text), 2 * ROUNDS, `${name}: every round once`);
      assert.equal(text.match(/guest kernel on hart/g)?.length, 1, `${name} booted once`);
    }
    await second.daemon.stop(); // remembered: save again (the workloads have finished; their shells idle)
    assert.ok(
      second.lines.some((l) => /stopping: 2 domain\(s\) to save/.test(l)),
      "the setting is remembered",
    );
    const third = await daemonOn(state, { onStop: "destroy" }, false);
    assert.deepEqual(
      (await third.c.list()).filter((d) => d.id !== 0).map((d) => [d.name, d.state]),
      [
        ["w-pv", "saved"],
        ["w-trap", "saved"],
      ],
      "--no-restore leaves them saved",
    );
    assert.match((await third.c.start("w-trap")).state, /running/);
    assert.ok(!existsSync(join(state, "saved", "w-trap.rvsave")));
    assert.ok(!consoleOf(third.daemon, "w-trap").includes("guest kernel on hart"), "start restored it");
    await third.daemon.stop();
  });

  it("on-stop shutdown: guests that listen power off, one that never listens is destroyed after the timeout", async () => {
    const state = join(dir, "shutdown");
    const { daemon, c, lines } = await daemonOn(state, { onStop: "shutdown", stopTimeoutS: 2 });
    await create(c, "g-pv", `type = "pv"\nkernel = "${KERNEL.pv}"`);
    await create(c, "g-trap", `type = "trap"\nkernel = "${KERNEL.trap}"\non_poweroff = "restart"`);
    // An S-mode program with no store client: it only echoes its UART.
    await create(c, "deaf", `type = "trap"\nkernel = "${programs}/uart-irq.elf"`);
    await listening(c, "g-pv");
    await listening(c, "g-trap");
    await c.pause("g-pv"); // a paused guest is let go on to power off
    await daemon.stop();
    const list = daemon.list();
    assert.deepEqual(find(list, "g-pv")?.end, { state: "shutdown", code: 0, reason: "poweroff" });
    assert.deepEqual(
      find(list, "g-trap")?.end,
      { state: "shutdown", code: 0, reason: "poweroff" },
      "no restart",
    );
    assert.equal(find(list, "deaf")?.end?.reason, "destroyed");
    for (const name of ["g-pv", "g-trap"]) {
      assert.equal(find(list, name)?.state, "stopped");
      assert.match(consoleOf(daemon, name), /control\/shutdown = poweroff: powering off/);
      assert.ok(lines.some((l) => l.startsWith(`rvisord: asked ${name} (id `)));
    }
    assert.ok(
      lines.some((l) =>
        /deaf \(id \d+\): PV control interface not available.*: waiting for it to listen$/.test(l),
      ),
    );
    assert.ok(
      lines.some((l) =>
        /deaf \(id \d+\): it never listened for control\/shutdown within 2 s: destroying it$/.test(l),
      ),
      lines.join("\n"),
    );
  });

  it("falls back to power-off for a domain whose save fails, and a second stop destroys the rest at once", async () => {
    const state = join(dir, "fallback");
    const first = await daemonOn(state, { onStop: "save", stopTimeoutS: 60 });
    await create(first.c, "nosave", `type = "pv"\nkernel = "${KERNEL.pv}"`);
    await listening(first.c, "nosave");
    // Its image's path is taken by a directory: the rename at the end of the write fails.
    mkdirSync(join(state, "saved", "nosave.rvsave"), { recursive: true });
    await first.daemon.stop();
    assert.equal(find(first.daemon.list(), "nosave")?.end?.reason, "poweroff");
    assert.ok(
      first.lines.some((l) =>
        /nosave \(id \d+\): not saved: .*nosave\.rvsave: cannot write the save image: .*; asking it to power off$/.test(
          l,
        ),
      ),
      first.lines.join("\n"),
    );
    rmSync(join(state, "saved", "nosave.rvsave"), { recursive: true });

    const second = await daemonOn(state);
    assert.equal(find(await second.c.list(), "nosave")?.state, "stopped", "nothing saved: it stays stopped");
    await second.c.start("nosave");
    await create(second.c, "later", `type = "pv"\nkernel = "${KERNEL.pv}"`);
    await listening(second.c, "later");
    // The second call comes while the first save is written: that one finishes whole, the rest goes.
    const stopped = second.daemon.stop();
    void second.daemon.stop();
    await stopped;
    const saved = second.daemon.defined().filter((e) => e.saved !== undefined);
    assert.equal(saved.length, 1, "one domain saved before the stop was forced");
    const other = second.daemon.defined().find((e) => e.stored.name !== saved[0]?.stored.name && e.end);
    assert.equal(other?.end?.reason, "destroyed");
    assert.ok(second.lines.includes("rvisord: stop forced: every domain still alive is destroyed now"));

    const third = await daemonOn(state, { onStop: "destroy" });
    assert.equal(find(await third.c.list(), saved[0]!.stored.name)?.state, "running", "its image was whole");
    await third.daemon.stop();
  });

  it("keeps a corrupted image at start, says why, leaves the domain stopped and the daemon up", async () => {
    const state = join(dir, "corrupt");
    const first = await daemonOn(state, { onStop: "save" });
    await create(first.c, "bad", `type = "trap"\nkernel = "${KERNEL.trap}"`);
    await waitFor("bad's prompt", async () =>
      consoleOf(first.daemon, "bad").endsWith("$ ") ? true : undefined,
    );
    await first.daemon.stop();
    const image = join(state, "saved", "bad.rvsave");
    const bytes = readFileSync(image);
    bytes[bytes.length >> 1] ^= 1;
    writeFileSync(image, bytes);
    // And a partial write left by a daemon killed while saving.
    writeFileSync(join(state, "saved", ".bad.rvsave.999.0000.tmp"), "half");

    const second = await daemonOn(state);
    const d = find(await second.c.list(), "bad");
    assert.equal(d?.state, "saved");
    assert.equal(d?.id, null);
    assert.match(d?.saved?.restoreError ?? "", /bad\.rvsave is corrupted: the SHA-256 of bytes/);
    assert.ok(existsSync(image), "the image is kept");
    assert.ok(!existsSync(join(state, "saved", ".bad.rvsave.999.0000.tmp")), "the partial write is removed");
    assert.ok(
      second.lines.some((l) =>
        /^rvisord: bad: not restored from .*bad\.rvsave: .*is corrupted.*; the image is kept and bad stays stopped/.test(
          l,
        ),
      ),
      second.lines.join("\n"),
    );
    assert.equal((await second.c.info()).onStop, "save", "the daemon is up");
    // start tries the image again (refused the same way); create may not bypass it; --force-boot discards it.
    await assert.rejects(
      second.c.start("bad"),
      (e) => e instanceof DaemonApiError && e.status === 400 && /is corrupted/.test(e.message),
    );
    await assert.rejects(
      create(second.c, "bad", `type = "trap"\nkernel = "${KERNEL.trap}"`),
      (e) => e instanceof DaemonApiError && e.status === 409 && /bad has a saved image/.test(e.message),
    );
    assert.equal((await second.c.start("bad", true)).state, "running");
    assert.ok(!existsSync(image));
    assert.equal((await second.c.domain("bad")).saved, undefined);
    await second.c.destroy("bad");
    await second.daemon.stop();
  });

  it("starts autostart domains at daemon start, and stops when autostart is turned off", async () => {
    const state = join(dir, "autostart");
    const first = await daemonOn(state);
    await create(first.c, "auto", `type = "trap"\nkernel = "${programs}/uart-irq.elf"`);
    await create(first.c, "manual", `type = "trap"\nkernel = "${programs}/uart-irq.elf"`);
    assert.equal((await first.c.autostart("auto", true)).autostart, true);
    assert.equal((await first.c.domain("manual")).autostart, false);
    await first.daemon.stop(); // on-stop destroy (the default)
    assert.ok(!existsSync(join(state, "saved")), "destroy saves nothing");

    const second = await daemonOn(state);
    let list = await second.c.list();
    assert.equal(find(list, "auto")?.state, "running");
    assert.equal(find(list, "manual")?.state, "stopped");
    assert.ok(second.lines.some((l) => /^rvisord: auto: autostarted \(id \d+\)$/.test(l)));
    await second.c.autostart("auto", false);
    await second.c.autostart("manual", true);
    await second.daemon.stop();

    const third = await daemonOn(state);
    list = await third.c.list();
    assert.equal(find(list, "auto")?.state, "stopped");
    assert.equal(find(list, "auto")?.autostart, false);
    assert.equal(find(list, "manual")?.state, "running");
    await third.daemon.stop();
  });
});
