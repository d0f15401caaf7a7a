/**
 * The host's stop and start through the real thing: a `rvisor daemon --on-stop save` process is sent
 * SIGTERM with a trap and a pv domain part way through a workload; the next daemon process on the same
 * state directory restores both (as they were: paused) and, unpaused, they finish it — all through the
 * CLI (`list`, `list --long`, `autostart`, `host-info`, `host-config`, `start`). Then two SIGTERMs at
 * once: the process still exits cleanly and every image it left restores.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { DomainInfo } from "./api.js";
import { RvisordClient } from "./client.js";
import { rvisorAt } from "./test-support.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const cli = join(root, "dist/cli/main.js");
const kernels = join(root, "build/guest/kernel");
const ROUNDS = 100;
const RESULT = `work: 2 x ${ROUNDS} rounds, all correct`;

const dir = mkdtempSync(join(tmpdir(), "rvisord-hoststop-"));
const socket = join(dir, "rvisord.sock");
const state = join(dir, "state");
const rvisor = (...args: string[]) => rvisorAt(socket, ...args);
const c = new RvisordClient(socket);

interface Daemon {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startDaemon(...extra: string[]): Daemon {
  const child = spawn(
    process.execPath,
    [cli, "daemon", "--socket", socket, "--state-dir", state, "--memory", "160M", "--pcpus", "2", ...extra],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let err = "";
  child.stderr?.on("data", (b: Buffer) => {
    err += b.toString();
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, stderr: () => err, exited };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const rounds = (text: string) => text.match(/^work: round$/gm)?.length ?? 0;
const find = (list: DomainInfo[], name: string) => list.find((d) => d.name === name);

/** `rvisor <args>` that must succeed; its standard output. */
async function ok(...args: string[]): Promise<string> {
  const r = await rvisor(...args);
  assert.equal(r.code, 0, `rvisor ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

describe("rvisor daemon --on-stop save, SIGTERMed and started again", () => {
  const daemons: Daemon[] = [];
  after(() => {
    for (const d of daemons) d.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("saves both domains mid-workload at SIGTERM; the next daemon restores them and they finish", async () => {
    const first = startDaemon("--on-stop", "save", "--stop-timeout", "30");
    daemons.push(first);
    await waitFor("the daemon", () => c.info());
    assert.match(await ok("host-info"), /^on_stop +: save\nstop_timeout +: 30 s\n/m);
    const before = new Map<string, string>();
    for (const [name, mode, kernel] of [
      ["c-trap", "trap", "kernel.elf"],
      ["c-pv", "pv", "kernel-pv.elf"],
    ] as const) {
      const cfg = join(dir, `${name}.cfg`);
      writeFileSync(
        cfg,
        `name = "${name}"\ntype = "${mode}"\nkernel = "${kernels}/${kernel}"\nmemory = 32\nextra = "-- run work 2 ${ROUNDS}"\n`,
      );
      await ok("create", cfg);
      // Paused once part way (before the next is created, so neither can finish while the other is
      // awaited), and what it printed up to the save can be read: it comes back paused.
      await waitFor(`${name} part way`, async () =>
        rounds((await c.console(name)).text) >= 4 ? true : undefined,
      );
      await c.pause(name);
      before.set(name, await ok("console", name));
      assert.ok(!before.get(name)?.includes(RESULT), `${name} part way`);
    }
    assert.equal(await ok("autostart", "c-pv"), "Domain c-pv marked as autostarted\n");
    assert.match(await ok("list"), /\nc-pv +\d+ +32 +1 +--p--- +[\d.]+ +pv \[autostart\]\n/);
    first.child.kill("SIGTERM");
    assert.equal(await first.exited, 0, first.stderr());
    assert.match(first.stderr(), /rvisord: stopping: 2 domain\(s\) to save/);
    assert.deepEqual(readdirSync(join(state, "saved")).sort(), ["c-pv.rvsave", "c-trap.rvsave"]);

    const second = startDaemon();
    daemons.push(second);
    const listed = await waitFor("both restored", async () => {
      const l = await c.list();
      return ["c-trap", "c-pv"].every((n) => find(l, n)?.state === "paused") ? l : undefined;
    });
    assert.equal(find(listed, "c-pv")?.autostart, true);
    assert.equal(find(listed, "c-trap")?.autostart, false);
    assert.match(second.stderr(), /on stop: save/, "remembered without the option");
    assert.match(
      second.stderr(),
      /c-trap \(id \d+\): its saved image of \d{4}-.* is restored, paused as it was, and removed/,
    );
    assert.ok(
      !existsSync(join(state, "saved", "c-trap.rvsave")) && !existsSync(join(state, "saved", "c-pv.rvsave")),
    );
    const long = await ok("list", "--long");
    assert.match(
      long,
      /Name: +c-pv\nID: +\d+\nUUID: .*\nMode: +pv\nState: +paused\n(.*\n)*?Autostart: +enable\nSaved image: +no\n/,
    );
    for (const name of ["c-trap", "c-pv"]) await ok("unpause", name);
    for (const name of ["c-trap", "c-pv"]) {
      const text = await waitFor(`${name}'s result`, async () => {
        const t = (before.get(name) ?? "") + (await c.console(name)).text;
        return t.includes(RESULT) ? t : undefined;
      });
      assert.equal(rounds(text), 2 * ROUNDS, `${name}: every round once`);
      assert.equal(text.match(/guest kernel on hart/g)?.length, 1, `${name} booted once`);
    }

    // Two signals at once (a second one while the stop runs forces it): whatever was saved is whole.
    assert.equal(
      await ok("host-config", "--stop-timeout", "20"),
      "on_stop               : save\nstop_timeout          : 20 s\n",
    );
    second.child.kill("SIGTERM");
    second.child.kill("SIGTERM");
    assert.equal(await second.exited, 0, second.stderr());
    assert.deepEqual(
      readdirSync(join(state, "saved")).filter((f) => f.endsWith(".tmp")),
      [],
      "no partial write",
    );

    const third = startDaemon("--no-restore");
    daemons.push(third);
    await waitFor("the third daemon", () => c.info());
    const after = await c.list();
    const saved = after.filter((d) => d.state === "saved");
    assert.ok(saved.length >= 1, second.stderr());
    const table = await ok("list");
    for (const d of saved) {
      assert.match(table, new RegExp(`\\n${d.name} +- +32 +1 +------ +0\\.0 +\\w+ \\(saved\\)`));
      const r = await rvisor("start", d.name);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`^Restored ${d.name} \\(id \\d+, \\w+, running\\) from .*${d.name}\\.rvsave`),
      );
    }
    third.child.kill("SIGTERM");
    assert.equal(await third.exited, 0);
  });
});
