/**
 * The store ring end to end: rvisord in this process, guest kernels in every mode using the
 * `xenstore` shell command over their rings (read, write, ls, rm, watch, and another domain's subtree
 * refused), `rvisor shutdown` and `rvisor reboot` through control/shutdown, the refusal for a guest
 * that does not listen, and a guest that breaks its ring losing only its own connection.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { RING } from "../store/ring-backend.js";
import { DaemonApiError, RvisordClient } from "./client.js";
import { Rvisord } from "./server.js";
import { rvisorAt } from "./test-support.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const kernels = join(root, "build/guest/kernel");
const programs = join(root, "build/guest/programs");

const dir = mkdtempSync(join(tmpdir(), "rvisord-ring-test-"));
const socket = join(dir, "rvisord.sock");
const KERNEL = { trap: "kernel.elf", bt: "kernel.elf", hvm: "kernel.elf", pv: "kernel-pv.elf" } as const;

const rvisor = (...args: string[]) => rvisorAt(socket, ...args);

describe("the store ring under rvisord", () => {
  let daemon: Rvisord;
  const c = new RvisordClient(socket);

  async function create(name: string, lines: string) {
    const path = join(dir, `${name}.cfg`);
    const text = `name = "${name}"\nmemory = 32\n${lines}\n`;
    writeFileSync(path, text);
    return c.create({ config: text, path });
  }

  async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Types `line` into the shell of `dom` and returns what it printed up to the next prompt. */
  async function shell(dom: string, line: string): Promise<string> {
    const from = (await c.console(dom)).to;
    await c.sendInput(dom, `${line}\n`);
    const out = await waitFor(`${dom}: ${line}`, async () => {
      const text = (await c.console(dom, from)).text;
      return text.endsWith("\n$ ") ? text : undefined;
    });
    return out.slice(`${line}\n`.length, -"$ ".length);
  }

  async function booted(dom: string): Promise<number> {
    await waitFor(`${dom}'s prompt`, async () =>
      (await c.console(dom)).text.endsWith("$ ") ? true : undefined,
    );
    // The control thread has announced graceful shutdown (it runs right after the shell's first prompt).
    const d = await c.domain(dom);
    await waitFor(`${dom}'s control/feature-poweroff`, async () =>
      (await c.storeRead(`/local/domain/${d.id}/control/feature-poweroff`).catch(() => undefined))?.value ===
      "1"
        ? true
        : undefined,
    );
    return d.id!;
  }

  before(async () => {
    daemon = await Rvisord.start({
      socketPath: socket,
      stateDir: join(dir, "state"),
      pcpus: 2,
      hostMemoryMiB: 256,
    });
  });

  after(async () => {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lets each mode's guest read, write, list and remove its own nodes, and no one else's", async () => {
    const modes = ["trap", "pv", "hvm", "bt"] as const;
    const ids = new Map<string, number>();
    for (const mode of modes)
      await create(`ring-${mode}`, `type = "${mode}"\nkernel = "${kernels}/${KERNEL[mode]}"`);
    for (const mode of modes) ids.set(mode, await booted(`ring-${mode}`));
    for (const mode of modes) {
      const dom = `ring-${mode}`;
      const id = ids.get(mode)!;
      assert.match(
        (await c.console(dom)).text,
        /^xenstore: ring at 81fff000, event channel 1, interrupt 16$/m,
      );
      assert.equal(await shell(dom, "xenstore read name"), `${dom}\n`);
      assert.equal(await shell(dom, `xenstore read /local/domain/${id}/domid`), `${id}\n`);
      assert.equal(await shell(dom, "xenstore write data/x hello there"), "");
      assert.equal((await c.storeRead(`/local/domain/${id}/data/x`)).value, "hello there");
      assert.equal(await shell(dom, "xenstore read data/x"), "hello there\n");
      assert.equal(await shell(dom, "xenstore ls data"), 'x = "hello there"\n');
      assert.equal(await shell(dom, "xenstore rm data/x"), "");
      await assert.rejects(c.storeRead(`/local/domain/${id}/data/x`), (e) => e instanceof DaemonApiError);
      assert.equal(await shell(dom, "xenstore read data/x"), "xenstore: read data/x: ENOENT\n");
      const other = ids.get(mode === "trap" ? "pv" : "trap")!;
      assert.equal(
        await shell(dom, `xenstore read /local/domain/${other}/name`),
        `xenstore: read /local/domain/${other}/name: EACCES\n`,
      );
      assert.equal(
        await shell(dom, `xenstore write /local/domain/${other}/data/y 1`),
        `xenstore: write /local/domain/${other}/data/y: EACCES\n`,
      );
      assert.equal(await shell(dom, "xenstore write name renamed"), "xenstore: write name: EACCES\n");
      assert.equal(
        await shell(dom, "xenstore ls control"),
        'shutdown = ""\nfeature-poweroff = "1"\nfeature-reboot = "1"\n',
      );
    }
    for (const mode of modes) await c.destroy(`ring-${mode}`);
  });

  it("fires a guest's watch at once and again when domain 0 writes the node", async () => {
    await create("watcher", `type = "trap"\nkernel = "${kernels}/kernel.elf"`);
    const id = await booted("watcher");
    const from = (await c.console("watcher")).to;
    await c.sendInput("watcher", "xenstore watch data/w 2\n");
    await waitFor("the watch's first event", async () =>
      (await c.console("watcher", from)).text.includes("\ndata/w\n") ? true : undefined,
    );
    const tools = daemon.store.connect(0);
    assert.deepEqual(tools.write(`/local/domain/${id}/data/w`, "now"), { ok: true, value: undefined });
    const out = await waitFor("the second event and the prompt", async () => {
      const t = (await c.console("watcher", from)).text;
      return t.endsWith("\n$ ") ? t : undefined;
    });
    assert.equal(out, "xenstore watch data/w 2\ndata/w\ndata/w\n$ ");
    tools.close();
    await c.destroy("watcher");
  });

  it("shuts a domain down and reboots one through control/shutdown (rvisor shutdown|reboot -w)", async () => {
    await create("graceful", `type = "pv"\nkernel = "${kernels}/kernel-pv.elf"`);
    const first = await booted("graceful");
    // The first instance's console, until it goes.
    let said = "";
    const streamed = c.streamConsole("graceful", (e) => {
      if (e.kind === "output") said += e.text;
    });
    const rebooted = await rvisor("reboot", "graceful", "-w");
    assert.equal(rebooted.code, 0, rebooted.stderr);
    assert.match(
      rebooted.stderr,
      new RegExp(
        `^Rebooting domain ${first} \\(graceful\\)\\nDomain ${first} \\(graceful\\) has rebooted\\n$`,
      ),
    );
    await streamed;
    assert.match(said, /xenstore: control\/shutdown = reboot: rebooting\n/);
    const second = await waitFor("the restarted domain", async () => {
      const d = await c.domain("graceful");
      return d.state === "running" && d.id !== first ? d.id! : undefined;
    });
    assert.equal(await booted("graceful"), second);
    assert.match((await c.console("graceful")).text, /^rvisor guest kernel on hart 0: /m, "a second boot");
    assert.equal((await c.storeRead(`/local/domain/${second}/control/shutdown`)).value, "");
    await assert.rejects(c.storeRead(`/local/domain/${first}`), (e) => e instanceof DaemonApiError);

    const off = await c.shutdown("graceful", true);
    assert.equal(off.state, "stopped");
    assert.deepEqual(off.end, { state: "shutdown", code: 0, reason: "poweroff" });
    assert.match(
      (await c.console("graceful")).text,
      /xenstore: control\/shutdown = poweroff: powering off\n/,
    );
  });

  it("refuses to ask a guest that does not listen, as xl does, and points to destroy", async () => {
    // An S-mode program with no store client: it only echoes its UART.
    const d = await create("deaf", `type = "trap"\nkernel = "${programs}/uart-irq.elf"`);
    await assert.rejects(
      c.shutdown("deaf"),
      (e) =>
        e instanceof DaemonApiError &&
        e.status === 409 &&
        e.message ===
          `deaf (id ${d.id}): PV control interface not available: external graceful shutdown not possible ` +
            "(the guest has not announced control/feature-poweroff); use `rvisor destroy deaf` to stop it at once",
    );
    const r = await rvisor("reboot", "deaf");
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^rvisor: deaf \(id \d+\): PV control interface not available: external graceful reboot/m,
    );
    assert.equal((await c.domain("deaf")).state, "running");
    assert.equal((await rvisor("destroy", "deaf")).code, 0);
    await assert.rejects(c.shutdown("deaf"), (e) => e instanceof DaemonApiError && e.status === 409);
  });

  it("stops serving a guest that breaks its ring, and only that guest", async () => {
    await create("breaker", `type = "trap"\nkernel = "${kernels}/kernel.elf"`);
    await create("bystander", `type = "pv"\nkernel = "${kernels}/kernel-pv.elf"`);
    const id = await booted("breaker");
    await booted("bystander");
    const ring = daemon.hv.domains.get(id)!.storeRing!;
    // What a hostile guest could do: a producer index a megabyte ahead, then a signal.
    const jump = new Uint8Array(4);
    new DataView(jump.buffer).setUint32(0, 1 << 20, true);
    ring.page.write(RING.REQ_PROD, jump);
    ring.channel.send();
    assert.equal(
      new DataView(ring.page.read(RING.ERROR, 4)!.buffer).getUint32(0, true),
      2,
      "XENSTORE_ERROR_RINGIDX",
    );
    await assert.rejects(
      c.shutdown("breaker"),
      (e) => e instanceof DaemonApiError && /its store ring is not connected/.test(e.message),
    );
    assert.equal(await shell("bystander", "xenstore read name"), "bystander\n");
    assert.equal((await c.domain("breaker")).state, "running", "the guest itself runs on");
    await c.destroy("breaker");
    await c.shutdown("bystander", true);
  });
});
