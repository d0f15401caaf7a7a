/**
 * The administration verbs against a running rvisord (in this process), through the `rvisor` CLI as a
 * child process and through the client: the store (read, write, ls -p, rm, watch), vcpu-list and
 * vcpu-pin, sched-credit, top, dmesg, an attached console with Ctrl-] — and the loopback TCP API with
 * its bearer token.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { attachConsole, DETACH_BYTE } from "../../cli/toolstack.js";
import type { StatsSample } from "./api.js";
import { RvisordClient } from "./client.js";
import { Rvisord, TOKEN_FILE } from "./server.js";
import { waitFor } from "./test-support.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const kernels = join(root, "build/guest/kernel");
const cli = join(root, "dist/cli/main.js");
const run = promisify(execFile);

const dir = mkdtempSync(join(tmpdir(), "rvisord-admin-"));
const socket = join(dir, "rvisord.sock");
const state = join(dir, "state");

function cfg(name: string, lines: string): string {
  const path = join(dir, `${name}.cfg`);
  writeFileSync(path, `name = "${name}"\nmemory = 16\n${lines}\n`);
  return path;
}

async function rvisor(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [cli, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe("rvisord administration", () => {
  let daemon: Rvisord;
  const c = new RvisordClient(socket);
  const env = { RVISOR_SOCKET: socket };
  const cmd = (...args: string[]) => rvisor(env, ...args);

  before(async () => {
    daemon = await Rvisord.start({
      socketPath: socket,
      stateDir: state,
      pcpus: 2,
      hostMemoryMiB: 128,
      tcp: { host: "127.0.0.1", port: 0 },
    });
    const path = cfg("web", `type = "trap"\nkernel = "${kernels}/kernel.elf"\nvcpus = 2\ncpus = "1"`);
    await c.create({ config: readFileSync(path, "utf8"), path });
    await waitFor("the shell prompt", async () =>
      (await c.console("web")).text.includes("$ ") ? true : undefined,
    );
  });

  after(async () => {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves the API on loopback TCP only with the bearer token from the state directory", async () => {
    assert.match(daemon.tcpAddress ?? "", /^127\.0\.0\.1:\d+$/);
    const tokenPath = join(state, TOKEN_FILE);
    assert.equal(statSync(tokenPath).mode & 0o777, 0o600);
    const token = readFileSync(tokenPath, "utf8").trim();
    const [host, port] = daemon.tcpAddress!.split(":");
    const status = (auth?: string) =>
      new Promise<number>((r, j) => {
        const req = request(
          { host, port: Number(port), path: "/v1/info", headers: auth ? { authorization: auth } : {} },
          (res) => {
            res.resume();
            r(res.statusCode ?? 0);
          },
        );
        req.on("error", j);
        req.end();
      });
    assert.equal(await status(), 401);
    assert.equal(await status("Bearer wrong"), 401);
    assert.equal(await status(`Bearer ${token}`), 200);
    const viaTcp = await rvisor({ RVISOR_SOCKET: `tcp://${daemon.tcpAddress}`, RVISOR_TOKEN: token }, "list");
    assert.equal(viaTcp.code, 0, viaTcp.stderr);
    assert.match(viaTcp.stdout, /^web\s+1\s/m);
    assert.equal((await c.info()).tcp, daemon.tcpAddress);
  });

  it("refuses a TCP address that is not loopback, leaving no socket behind", async () => {
    const other = join(dir, "other.sock");
    await assert.rejects(
      Rvisord.start({ socketPath: other, stateDir: join(dir, "s2"), tcp: { host: "0.0.0.0", port: 0 } }),
      /loopback addresses only/,
    );
    assert.throws(() => statSync(other), /ENOENT/);
    const r = await rvisor({ RVISOR_SOCKET: other }, "daemon", "--listen", "10.0.0.1:80");
    assert.equal(r.code, 2, "a usage error");
    assert.match(r.stderr, /loopback addresses only/);
  });

  it("reads, writes, lists with permissions, watches and removes store nodes", async () => {
    assert.equal((await cmd("store", "write", "/local/domain/1/data/greeting", "hello")).code, 0);
    assert.equal((await cmd("store", "read", "/local/domain/1/data/greeting")).stdout, "hello\n");
    const ls = await cmd("store", "ls", "-p", "/local/domain/1");
    assert.match(
      ls.stdout,
      /^\/local\/domain\/1\/name = "web"\s+\(n0, r1\)|^\/local\/domain\/1\/name = "web"/m,
    );
    assert.match(ls.stdout, /^\/local\/domain\/1\/data\/greeting = "hello"/m);
    const json = JSON.parse((await cmd("store", "ls", "--json", "/local/domain/1/data")).stdout);
    assert.deepEqual(
      json.map((e: { path: string }) => e.path),
      ["/local/domain/1/data", "/local/domain/1/data/greeting"],
    );
    // A watch fires at once, then for the change below it.
    const events: string[] = [];
    const w = c.storeWatch("/local/domain/1/data", (e) => events.push(e.path));
    await waitFor("the first watch event", async () => (events.length >= 1 ? true : undefined), 5000);
    await cmd("store", "write", "/local/domain/1/data/other", "x");
    await waitFor("the change's event", async () => (events.length >= 2 ? true : undefined), 5000);
    w.stop();
    await w.done;
    assert.deepEqual(events, ["/local/domain/1/data", "/local/domain/1/data/other"]);
    // The CLI's watch: its first event (at once) says it is set; the write then gives the second.
    const child = spawn(
      process.execPath,
      [cli, "store", "watch", "-n", "2", "/local/domain/1/data/greeting"],
      {
        env: { ...process.env, ...env },
      },
    );
    let watchOut = "";
    child.stdout.on("data", (b: Buffer) => {
      watchOut += b.toString();
    });
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    await waitFor("the CLI watch's first event", async () => (watchOut.length > 0 ? true : undefined));
    await cmd("store", "write", "/local/domain/1/data/greeting", "again");
    assert.equal(await exited, 0);
    const wr = { stdout: watchOut };
    assert.equal(wr.stdout, "/local/domain/1/data/greeting\n/local/domain/1/data/greeting\n");
    assert.equal((await cmd("store", "rm", "/local/domain/1/data/greeting")).code, 0);
    const gone = await cmd("store", "read", "/local/domain/1/data/greeting");
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /ENOENT/);
  });

  it("lists vCPUs with their affinity from the config's cpus, and pins them", async () => {
    const list = await cmd("vcpu-list", "web");
    assert.equal(list.code, 0, list.stderr);
    const rows = list.stdout.trim().split("\n");
    assert.match(rows[0]!, /^Name\s+ID\s+VCPU\s+CPU State\s+Time\(s\) Affinity \(Hard\)$/);
    assert.match(rows[1]!, /^web\s+1\s+0\s+1\s+\S+\s+[\d.]+ 1$/, 'cpus = "1" pinned vCPU 0 to pCPU 1');
    // The kernel brings every CPU online at boot (SBI HSM hart_start), as Linux does.
    assert.match(rows[2]!, /^web\s+1\s+1\s+\S+\s+(r--|-r-|-b-)\s+[\d.]+ 1$/, "vCPU 1 online");
    assert.equal((await cmd("vcpu-pin", "web", "all", "0")).code, 0);
    const pinned = await c.vcpus("web");
    assert.deepEqual(
      pinned.map((v) => v.affinity),
      [[0], [0]],
    );
    assert.equal((await cmd("vcpu-pin", "web", "0", "all")).code, 0);
    assert.deepEqual((await c.vcpus("web"))[0]!.affinity, [0, 1]);
    assert.match((await cmd("vcpu-list")).stdout, /^web\s+1\s+0\s+\S+\s+\S+\s+[\d.]+ all$/m);
    const bad = await cmd("vcpu-pin", "web", "0", "5");
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /pCPU 5 does not exist \(the host has pCPUs 0\.\.1\)/);
    const noVcpu = await cmd("vcpu-pin", "web", "7", "0");
    assert.match(noVcpu.stderr, /no vCPU 7 \(it has vCPUs 0\.\.1\)/);
  });

  it("shows and sets Credit weight and cap, refusing values out of range", async () => {
    assert.equal((await cmd("sched-credit", "-d", "web", "-w", "512", "-c", "50")).code, 0);
    const shown = await cmd("sched-credit");
    assert.match(shown.stdout, /^Name\s+ID Weight\s+Cap$/m);
    assert.match(shown.stdout, /^web\s+1\s+512\s+50$/m);
    assert.deepEqual(JSON.parse((await cmd("sched-credit", "-d", "web", "--json")).stdout), [
      { name: "web", id: 1, weight: 512, cap: 50 },
    ]);
    const bad = await cmd("sched-credit", "-d", "web", "-w", "0");
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /weight 0 is outside 1\.\.65535/);
    const noDom = await cmd("sched-credit", "-w", "3");
    assert.match(noDom.stderr, /give the domain with -d/);
    await c.schedSet("web", { weight: 256, cap: 0 });
  });

  it("samples live statistics: top in batch mode, JSON lines, and the stream's rates", async () => {
    const top = await cmd("top", "-b", "-d", "0.2");
    assert.equal(top.code, 0, top.stderr);
    assert.match(top.stdout, /pCPU busy: \d+% \d+%/);
    assert.match(top.stdout, /^\s+NAME\s+ID STATE\s+MODE\s+CPU\(sec\) CPU\(%\)\s+MIPS\s+EXITS\/s/m);
    assert.match(top.stdout, /^\s+web\s+1 running\s+trap /m);
    const lines = (await cmd("top", "--json", "-i", "2", "-d", "0.2")).stdout.trim().split("\n");
    assert.equal(lines.length, 2);
    const s = JSON.parse(lines[1]!) as StatsSample;
    const web = s.domains.find((d) => d.name === "web")!;
    assert.ok(s.intervalNs > 0);
    assert.equal(web.vcpus, 2);
    assert.equal(web.onlineVcpus, 2);
    assert.equal(web.memoryMiB, 16);
    assert.ok(web.cpuPercent >= 0 && web.cpuPercent <= 200);
    const bad = await cmd("top", "-d", "0");
    assert.match(bad.stderr, /--delay must be 0\.1\.\.60 seconds/);
  });

  it("keeps a log ring for dmesg", async () => {
    const d = await cmd("dmesg");
    assert.match(d.stdout, /^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] rvisord: created web \(id 1\)/m);
    const j = JSON.parse((await cmd("dmesg", "--json")).stdout) as { time: number; text: string }[];
    assert.ok(j.some((l) => l.text.startsWith("rvisord: created web")));
  });

  it("attaches to a console: keys reach the guest, Ctrl-] detaches and the domain runs on", async () => {
    const input = new PassThrough();
    let output = "";
    const attached = attachConsole(c, "web", input, (t) => {
      output += t;
    });
    input.write("help\n");
    await waitFor("the shell's help", async () => (output.includes("the process table") ? true : undefined));
    input.write(Buffer.from([DETACH_BYTE]));
    assert.equal(await attached, 0);
    assert.equal((await c.domain("web")).state, "running");
  });
});
