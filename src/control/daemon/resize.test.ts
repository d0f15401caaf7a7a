/**
 * Resizing under rvisord, through the CLI: vcpu-set while a multi-process workload runs (its result
 * stays right), mem-set down and back up (the host's free memory follows, the guest keeps working),
 * balloon-stats, list's columns, and the limits' errors — in trap and pv domains.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { RvisordClient } from "./client.js";
import { Rvisord } from "./server.js";
import { rvisorAt } from "./test-support.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const kernels = join(root, "build/guest/kernel");

const dir = mkdtempSync(join(tmpdir(), "rvisord-resize-test-"));
const socket = join(dir, "rvisord.sock");
const KERNEL = { trap: "kernel.elf", pv: "kernel-pv.elf" } as const;

const rvisor = (...args: string[]) => rvisorAt(socket, ...args);

describe("resizing under rvisord", () => {
  let daemon: Rvisord;
  const c = new RvisordClient(socket);

  async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  before(async () => {
    daemon = await Rvisord.start({
      socketPath: socket,
      stateDir: join(dir, "state"),
      pcpus: 2,
      hostMemoryMiB: 160,
    });
  });

  after(async () => {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const mode of ["trap", "pv"] as const) {
    it(`changes a ${mode} domain's vCPUs under a workload and its memory with the balloon`, async () => {
      const dom = `rs-${mode}`;
      const path = join(dir, `${dom}.cfg`);
      const text =
        `name = "${dom}"\ntype = "${mode}"\nkernel = "${kernels}/${KERNEL[mode]}"\n` +
        "memory = 32\nmaxmem = 48\nvcpus = 1\nmaxvcpus = 4\n";
      writeFileSync(path, text);
      const created = await c.create({ config: text, path });
      const id = created.id!;
      await waitFor("the prompt", async () =>
        (await c.console(dom)).text.endsWith("$ ") ? true : undefined,
      );
      const resize = () => c.resizeInfo(dom);
      // The resize thread has read the store: only CPU 0 runs, as vcpus = 1 asks.
      await waitFor("the balloon", async () => ((await resize()).memory.balloon?.live ? true : undefined));
      assert.equal((await c.storeRead(`/local/domain/${id}/cpu/3/availability`)).value, "offline");
      assert.equal((await c.storeRead(`/local/domain/${id}/memory/static-max`)).value, String(48 * 1024));
      assert.match((await rvisor("list")).stdout, new RegExp(`^${dom}\\s+${id}\\s+32\\s+1/4\\s`, "m"));

      // vCPUs 1 → 4 → 2 while six processes compute; every one must still get the right answer.
      const from = (await c.console(dom)).to;
      await c.sendInput(dom, "run work 6 150 -q\n");
      assert.equal((await rvisor("vcpu-set", dom, "4")).code, 0);
      await waitFor("4 vCPUs online", async () => ((await resize()).vcpusOnline === 4 ? true : undefined));
      assert.doesNotMatch((await c.console(dom, from)).text, /all correct/, "the workload runs on");
      assert.equal((await rvisor("vcpu-set", dom, "2")).code, 0);
      await waitFor("2 vCPUs online", async () => ((await resize()).vcpusOnline === 2 ? true : undefined));
      const out = await waitFor("the workload", async () => {
        const t = (await c.console(dom, from)).text;
        return t.endsWith("\n$ ") ? t : undefined;
      });
      assert.match(out, /^work: 6 x 150 rounds, all correct$/m, out);
      assert.equal((await c.storeRead(`/local/domain/${id}/cpu/1/availability`)).value, "online");
      assert.equal((await c.storeRead(`/local/domain/${id}/cpu/2/availability`)).value, "offline");
      assert.match((await rvisor("list")).stdout, new RegExp(`^${dom}\\s+${id}\\s+32\\s+2/4\\s`, "m"));

      // Memory 32 → 16 MiB: the host gets 4096 frames back (give or take shadow tables).
      const free0 = (await c.info()).freeFrames;
      assert.equal((await rvisor("mem-set", dom, "16")).code, 0);
      assert.equal((await c.storeRead(`/local/domain/${id}/memory/target`)).value, String(16 * 1024));
      await waitFor("16 MiB", async () =>
        (await resize()).memory.currentKiB === 16 * 1024 ? true : undefined,
      );
      const free1 = (await c.info()).freeFrames;
      assert.ok(free1 - free0 > 4096 - 256, `free frames ${free0} → ${free1}`);
      const listed = (await c.list()).find((d) => d.name === dom)!;
      assert.equal(listed.memoryMiB, 16);
      assert.equal(listed.targetMiB, undefined);
      await waitFor("the guest's statistics", async () =>
        (await resize()).memory.balloon!.guestUpdates > 0 ? true : undefined,
      );
      const stats = await rvisor("balloon-stats", dom);
      assert.match(stats.stdout, /memory {6}16 MiB now, target 16 MiB, max 48 MiB \(booted with 32 MiB\)/);
      assert.match(stats.stdout, /vcpus {7}2 online, 2 asked for, 4 in all/);
      assert.match(stats.stdout, /balloon {5}live: holds 4096 pages \(16 MiB\)/);
      assert.match(
        stats.stdout,
        /guest {7}swap-in 0, swap-out 0, free [\d.]+ MiB, total [\d.]+ MiB, available/,
      );

      // The limits, each with what is wrong.
      const refusals: [string[], RegExp][] = [
        [["vcpu-set", dom, "0"], /at least 1 vCPU, not 0/],
        [["vcpu-set", dom, "5"], /5 vCPUs is more than its maxvcpus \(4\)/],
        [["mem-set", dom, "64"], /65536 KiB is more than its maxmem \(49152 KiB\)/],
        [["mem-set", dom, "40"], /more than the RAM it booted with \(32768 KiB\)/],
        [["mem-max", dom, "8"], /maxmem 8192 KiB is below its memory target \(16384 KiB\)/],
      ];
      for (const [args, why] of refusals) {
        const r = await rvisor(...args);
        assert.equal(r.code, 1, args.join(" "));
        assert.match(r.stderr, why, args.join(" "));
      }

      const usage = await rvisor("mem-set", dom, "lots");
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /mem-set must be a size such as 128M/);

      // And back to 32 MiB; the guest still runs its programs.
      assert.equal((await rvisor("mem-set", dom, "32768K")).code, 0);
      await waitFor("32 MiB", async () =>
        (await resize()).memory.currentKiB === 32 * 1024 ? true : undefined,
      );
      assert.equal((await resize()).memory.balloon!.heldPages, 0);
      const from2 = (await c.console(dom)).to;
      await c.sendInput(dom, "run work 2 2 -q\n");
      const out2 = await waitFor("the workload", async () => {
        const t = (await c.console(dom, from2)).text;
        return t.endsWith("\n$ ") ? t : undefined;
      });
      assert.match(out2, /^work: 2 x 2 rounds, all correct$/m, out2);
      await c.destroy(dom);
    });
  }
});
