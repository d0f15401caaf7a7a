/**
 * What an xl user expects beyond the lifecycle, against a running rvisord (in this process) through the
 * `rvisor` CLI and the client: the PV console (hvc0, `console -t pv`) with its own shell beside the
 * serial console; the devices' store trees as Xen's toolstack writes them, `block-list` and
 * `network-list`, removed with the domain and written again at restore; `info` (xl info, then the
 * board); `uptime`, `domid`, `domname` and `rename`.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createDiskImage } from "../../hypervisor/virtio/qcow2-create.js";
import type { BlockDevice, NetworkDevice } from "./api.js";
import { DaemonApiError, RvisordClient } from "./client.js";
import { Rvisord } from "./server.js";
import { rvisorAt, waitFor } from "./test-support.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const kernels = join(root, "build/guest/kernel");
const cli = join(root, "dist/cli/main.js");

const dir = mkdtempSync(join(tmpdir(), "rvisord-xl-"));
const socket = join(dir, "rvisord.sock");
const state = join(dir, "state");
const image = join(dir, "data.img");
writeFileSync(image, Buffer.alloc(64 * 512));
/** A second disk: a qcow2 overlay of 128 sectors over a raw base of 16. */
const overlay = join(dir, "overlay.qcow2");
writeFileSync(join(dir, "small.img"), Buffer.alloc(16 * 512));
createDiskImage(overlay, { format: "qcow2", backingFile: "small.img", size: 128 * 512 });

function cfg(name: string, lines: string): string {
  const path = join(dir, `${name}.cfg`);
  writeFileSync(path, `name = "${name}"\nmemory = 16\n${lines}\n`);
  return path;
}

const rvisor = (...args: string[]) => rvisorAt(socket, ...args);

describe("rvisord's xl verbs", () => {
  let daemon: Rvisord;
  const c = new RvisordClient(socket);
  /** The console text of `dom` once it matches `re`. */
  const consoleMatching = (dom: string, re: RegExp, type: "serial" | "pv" = "serial") =>
    waitFor(`${dom}'s ${type} console to match ${re}`, async () => {
      const text = (await c.console(dom, 0, type)).text;
      return re.test(text) ? text : undefined;
    });

  before(async () => {
    daemon = await Rvisord.start({ socketPath: socket, stateDir: state, pcpus: 2, hostMemoryMiB: 128 });
    const path = cfg(
      "web",
      `type = "trap"\nkernel = "${kernels}/kernel.elf"\n` +
        `disk = [ "${image},raw,xvda,rw", "format=qcow2, vdev=xvdb, target=${overlay}" ]\nvif = [ "mac=00:16:3e:00:00:21, bridge=xenbr0" ]`,
    );
    await c.create({ config: readFileSync(path, "utf8"), path });
    await consoleMatching("web", /\$ $/);
    await consoleMatching("web", /type help for the commands\n\$ $/, "pv");
  });

  after(async () => {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs a command typed into hvc0 on hvc0's shell, and the serial console stays apart", async () => {
    await c.sendInput("web", "uptime\n", "pv");
    const pv = await consoleMatching(
      "web",
      /\$ uptime\nup \d+\.\d{3} s, \d+ ticks, \d+ processes\n\$ $/,
      "pv",
    );
    assert.match(pv, /^hvc0: rvisor guest kernel shell; type help for the commands$/m);
    await c.sendInput("web", "ps\n");
    const serial = await consoleMatching("web", /hvc0-shell \[kernel\]\n\$ $/);
    assert.doesNotMatch(serial, /\$ uptime/, "the serial console has none of hvc0's dialogue");
    assert.doesNotMatch((await c.console("web", 0, "pv")).text, /PID +PPID/, "nor hvc0 the serial one's");

    // The CLI: the output so far, and an attached session (input from a pipe, Ctrl-] detaches).
    const shown = await rvisor("console", "-t", "pv", "web");
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /\$ uptime\nup /);
    const attached = spawn(process.execPath, [cli, "console", "-t", "pv", "-i", "web"], {
      env: { ...process.env, RVISOR_SOCKET: socket },
    });
    let out = "";
    attached.stdout.on("data", (b: Buffer) => {
      out += b.toString();
    });
    const exited = new Promise<number | null>((r) => attached.on("exit", (code) => r(code)));
    attached.stdin.write("run hello via the cli\n");
    await waitFor("hello's line through the attached console", async () =>
      /hello from pid \d+: hello via the cli\n\$ $/.test(out) ? true : undefined,
    );
    attached.stdin.write(Buffer.from([0x1d]));
    assert.equal(await exited, 0);
    assert.doesNotMatch((await c.console("web")).text, /hello via the cli/);

    // The stream (server-sent events) of hvc0, from an offset.
    const from = (await c.console("web", 0, "pv")).to;
    const abort = new AbortController();
    let streamed = "";
    const stream = c.streamConsole(
      "web",
      (e) => {
        if (e.kind === "output") streamed += e.text;
      },
      from,
      abort.signal,
      "pv",
    );
    await c.sendInput("web", "programs\n", "pv");
    await waitFor("the programs list on the stream", async () =>
      /^hello +\d+ bytes$/m.test(streamed) ? true : undefined,
    );
    abort.abort();
    await stream;
    assert.ok(streamed.startsWith("programs\n"), JSON.stringify(streamed.slice(0, 40)));

    await assert.rejects(
      c.console("web", 0, "vuart" as "pv"),
      (e) => e instanceof DaemonApiError && e.status === 400,
    );
    const badType = await rvisor("console", "-t", "vuart", "web");
    assert.equal(badType.code, 2);
    assert.match(badType.stderr, /--type must be one of serial, pv/);
  });

  it("writes the devices' store trees as Xen's toolstack does, and lists them like xl", async () => {
    const id = (await c.domain("web")).id!;
    const ls = await c.storeList(`/local/domain/0/backend/vbd/${id}/51712`);
    const node = (p: string) => ls.find((e) => e.path === `/local/domain/0/backend/vbd/${id}/51712${p}`);
    assert.deepEqual(node("")?.perms, ["n0", `r${id}`], "the backend is domain 0's, readable by the domain");
    assert.equal(node("/frontend")?.value, `/local/domain/${id}/device/vbd/51712`);
    assert.equal(node("/frontend-id")?.value, String(id));
    assert.equal(node("/params")?.value, image);
    assert.equal(node("/mode")?.value, "w");
    assert.equal(node("/dev")?.value, "xvda");
    assert.equal(node("/sectors")?.value, "64");
    assert.equal(node("/sector-size")?.value, "512");
    assert.deepEqual(node("/sectors")?.perms, ["n0", `r${id}`]);
    const qcow2 = (p: string) => c.storeRead(`/local/domain/0/backend/vbd/${id}/51728${p}`);
    assert.equal((await qcow2("/params")).value, `qcow2:${overlay}`, "libxl's qdisk names the format");
    assert.equal((await qcow2("/type")).value, "qdisk");
    assert.equal((await qcow2("/sectors")).value, "128", "the overlay's virtual size, not its file's");
    const fe = await c.storeList(`/local/domain/${id}/device/vbd/51712`);
    const fnode = (p: string) => fe.find((e) => e.path === `/local/domain/${id}/device/vbd/51712${p}`);
    assert.deepEqual(fnode("")?.perms, [`n${id}`, "r0"], "the frontend is the domain's");
    assert.equal(fnode("/backend")?.value, `/local/domain/0/backend/vbd/${id}/51712`);
    assert.equal(fnode("/backend-id")?.value, "0");
    assert.equal(fnode("/virtual-device")?.value, "51712");
    assert.equal(fnode("/event-channel"), undefined, "no event channel: the disk is virtio");
    const vif = await c.storeRead(`/local/domain/0/backend/vif/${id}/0/mac`);
    assert.equal(vif.value, "00:16:3e:00:00:21");
    assert.equal((await c.storeRead(`/local/domain/0/backend/vif/${id}/0/bridge`)).value, "xenbr0");
    assert.equal((await c.storeRead(`/local/domain/${id}/device/vif/0/handle`)).value, "0");
    assert.equal((await c.storeRead(`/local/domain/${id}/console/type`)).value, "xenconsoled");
    assert.match((await c.storeRead(`/vm/${(await c.domain("web")).uuid}/start_time`)).value, /^\d+\.\d\d$/);

    // The guest's drivers are up (it printed its prompt): both ends are Connected (4), written when the
    // transports reported DRIVER_OK, before any listing asks.
    for (const node of [
      `/local/domain/0/backend/vbd/${id}/51712/state`,
      `/local/domain/${id}/device/vif/0/state`,
    ])
      assert.equal((await c.storeRead(node)).value, "4", node);
    const blocks = await rvisor("block-list", "web");
    assert.equal(blocks.code, 0, blocks.stderr);
    assert.equal(
      blocks.stdout,
      "Vdev  BE  handle state evt-ch ring-ref BE-path\n" +
        `51712 0   ${String(id).padEnd(6)} 4     -1     -1       /local/domain/0/backend/vbd/${id}/51712\n` +
        `51728 0   ${String(id).padEnd(6)} 4     -1     -1       /local/domain/0/backend/vbd/${id}/51728\n`,
    );
    assert.equal((await c.storeRead(`/local/domain/0/backend/vbd/${id}/51712/state`)).value, "4");
    const json = JSON.parse((await rvisor("block-list", "web", "--json")).stdout) as BlockDevice[];
    assert.deepEqual(
      [json[0].vdev, json[0].devid, json[0].mode, json[0].sectors, json[0].params],
      ["xvda", 51712, "w", 64, image],
    );
    const nets = await rvisor("network-list", String(id));
    assert.equal(nets.code, 0, nets.stderr);
    assert.equal(
      nets.stdout,
      "Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path\n" +
        `0   0  00:16:3e:00:00:21      0     4     -1    -1/-1          /local/domain/0/backend/vif/${id}/0\n`,
    );
    const netJson = JSON.parse((await rvisor("network-list", "web", "--json")).stdout) as NetworkDevice[];
    assert.equal(netJson[0].bridge, "xenbr0");
    const missing = await rvisor("block-list", "web", "nobody");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^rvisor: nobody: no domain named nobody$/m);
    assert.match(missing.stdout, /^51712 /m, "the domains that exist are still listed");
  });

  it("answers `info` like xl info followed by the board, and only the board with no daemon", async () => {
    const r = await rvisor("info");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^host {19}: \S+\n/, "xl's alignment: the key in 23 columns, then ': '");
    const row = (key: string, value: string) =>
      assert.match(r.stdout, new RegExp(`^${key} +: ${value}$`, "m"));
    row("release", ".+");
    row("nr_cpus", "2");
    row("total_memory", "128");
    row("free_memory", "\\d+");
    row("rvisor_scheduler", "credit");
    row("virt_caps", "trap bt pv hvm");
    row("domains", "1 live, 1 defined");
    row("uptime", " ?\\d+:\\d\\d:\\d\\d");
    assert.match(r.stdout, /^harts +2 \(up to \d+\)/m, "the board is the daemon's: its pCPUs");
    assert.match(r.stdout, /^ram +128M at 0x80000000$/m);
    const j = JSON.parse((await rvisor("info", "--json")).stdout) as {
      harts: number;
      host: { pcpus: number };
    };
    assert.deepEqual([j.harts, j.host.pcpus], [2, 2]);
    assert.match((await rvisor("host-info")).stdout, /^nr_cpus {16}: 2$/m);

    const none = await rvisor("info", "--socket", join(dir, "nobody.sock"));
    assert.equal(none.code, 0);
    assert.match(none.stderr, /^rvisor: rvisord is not running at .*nobody\.sock: .*; the board only:\n$/);
    assert.doesNotMatch(none.stdout, /nr_cpus/);
    assert.match(none.stdout, /^harts +1 /m);
  });

  it("tells uptime, domid and domname, and renames a domain everywhere", async () => {
    const id = (await c.domain("web")).id!;
    const up = await rvisor("uptime");
    assert.equal(up.code, 0, up.stderr);
    const lines = up.stdout.split("\n");
    assert.equal(lines[0], `${"Name".padEnd(33)}   ID Uptime`);
    assert.match(lines[1], /^Domain-0 +0 +\d+:\d\d:\d\d$/);
    assert.match(lines[2], new RegExp(`^web {31}${String(id).padStart(4)}  0:0\\d:\\d\\d$`));
    assert.match((await rvisor("uptime", "-s", "web")).stdout, / \d\d:\d\d:\d\d up +0:0\d, web \(\d+\)\n$/);
    assert.equal((await rvisor("domid", "web")).stdout, `${id}\n`);
    assert.equal((await rvisor("domname", String(id))).stdout, "web\n");
    assert.equal((await rvisor("domid", "Domain-0")).stdout, "0\n");

    const renamed = await rvisor("rename", "web", "www");
    assert.equal(renamed.code, 0, renamed.stderr);
    const d = await c.domain("www");
    assert.equal(d.id, id, "the same running domain");
    assert.equal((await c.storeRead(`/local/domain/${id}/name`)).value, "www");
    assert.equal((await c.storeRead(`/vm/${d.uuid}/name`)).value, "www");
    assert.equal((await rvisor("domname", String(id))).stdout, "www\n");
    await assert.rejects(c.domain("web"), (e) => e instanceof DaemonApiError && e.status === 404);

    const stopped = cfg("spare", `type = "trap"\nkernel = "${kernels}/kernel.elf"`);
    await c.create({ config: readFileSync(stopped, "utf8"), path: stopped });
    await c.destroy("spare");
    const taken = await rvisor("rename", "www", "spare");
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /a domain named spare already exists \(stopped\)/);
    assert.match((await rvisor("rename", "www", "has space")).stderr, /use 1 to 64 letters/);
    assert.match((await rvisor("rename", "www", "42")).stderr, /not all digits/);
    assert.match((await rvisor("rename", "www", "Domain-0")).stderr, /control domain/);
    // A stopped definition is renamed too, and the names last across a daemon restart.
    assert.equal((await rvisor("rename", "spare", "reserve")).code, 0);
    await c.destroy("www");
    await daemon.stop();
    daemon = await Rvisord.start({ socketPath: socket, stateDir: state, pcpus: 2, hostMemoryMiB: 128 });
    const names = (await c.list()).map((x) => x.name).sort();
    assert.deepEqual(names, ["Domain-0", "reserve", "www"]);
    assert.equal((await c.start("www")).name, "www");
    assert.equal((await c.storeRead(`/local/domain/${(await c.domain("www")).id}/name`)).value, "www");
  });

  it("removes a domain's device trees when it goes, and writes them again when it is restored", async () => {
    const d = await c.domain("www");
    await consoleMatching("www", /type help for the commands\n\$ $/, "pv");
    const saved = join(dir, "www.save");
    await c.save("www", { path: saved });
    for (const p of [`/local/domain/0/backend/vbd/${d.id}`, `/local/domain/0/backend/vif/${d.id}`])
      await assert.rejects(c.storeRead(p), (e) => e instanceof DaemonApiError && e.status === 404, p);
    const back = await c.restore({ path: saved });
    assert.notEqual(back.id, null);
    const rows = await c.blockDevices("www");
    assert.deepEqual(
      rows.map((r) => [r.devid, r.backendPath]),
      [
        [51712, `/local/domain/0/backend/vbd/${back.id}/51712`],
        [51728, `/local/domain/0/backend/vbd/${back.id}/51728`],
      ],
    );
    assert.equal((await c.networkDevices("www"))[0].mac, "00:16:3e:00:00:21");
    // hvc0 came back with the domain, its shell where it was (its log starts afresh with the instance).
    await c.sendInput("www", "uptime\n", "pv");
    await consoleMatching("www", /^uptime\nup \d+\.\d{3} s/, "pv");
    await c.destroy("www");
    await assert.rejects(
      c.storeRead(`/local/domain/0/backend/console/${back.id}`),
      (e) => e instanceof DaemonApiError && e.status === 404,
    );
  });
});
