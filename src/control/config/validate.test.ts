import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "./errors.js";
import { parseDomainConfig } from "./load.js";

const BASE = "name = 'vm1'\nkernel = '/k.elf'\n";
const FIXED = () => Uint8Array.from([1, 2, 3]);

const parse = (text: string) => parseDomainConfig(text, { file: "vm.cfg", baseDir: "/cfg", random: FIXED });
const config = (text: string) => parse(BASE + text).config;
/** The error message for `text` after the two base lines (so the first extra line is line 3). */
function errorOf(text: string, base = BASE): string {
  try {
    parse(base + text);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail("expected a ConfigError");
}

describe("domain config validation", () => {
  it("gives a minimal config Xen's defaults", () => {
    assert.deepEqual(config(""), {
      name: "vm1",
      type: "pv",
      kernel: "/k.elf",
      memoryMiB: 32,
      maxmemMiB: 32,
      vcpus: 1,
      maxvcpus: 1,
      cpuWeight: 256,
      cap: 0,
      disks: [],
      vifs: [],
      onPoweroff: "destroy",
      onReboot: "restart",
      onCrash: "destroy",
    });
  });

  it("reads every key", () => {
    const c = config(
      [
        'uuid = "0D5F1A2B-3C4D-4E5F-8A9B-0C1D2E3F4A5B"',
        'type = "hvm"',
        "memory = 256",
        "maxmem = 512",
        "vcpus = 2",
        "maxvcpus = 4",
        'cpus = "0-3,^2"',
        "cpu_weight = 512",
        "cap = 150",
        "disk = [ '/img/a.raw,raw,xvda,rw' ]",
        "vif = [ 'mac=00:16:3e:00:00:01,bridge=br1' ]",
        'on_poweroff = "preserve"',
        'on_reboot = "rename-restart"',
        'on_crash = "coredump-restart"',
      ].join("\n"),
    );
    assert.deepEqual(c, {
      name: "vm1",
      uuid: "0d5f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
      type: "hvm",
      kernel: "/k.elf",
      memoryMiB: 256,
      maxmemMiB: 512,
      vcpus: 2,
      maxvcpus: 4,
      cpus: { kind: "shared", set: { all: false, cpus: [0, 1, 3] } },
      cpuWeight: 512,
      cap: 150,
      disks: [{ target: "/img/a.raw", format: "raw", vdev: "xvda", access: "rw" }],
      vifs: [{ mac: "00:16:3e:00:00:01", bridge: "br1" }],
      onPoweroff: "preserve",
      onReboot: "rename-restart",
      onCrash: "coredump-restart",
    });
  });

  it("accepts every guest type", () => {
    for (const t of ["native", "trap", "bt", "pv", "hvm"]) assert.equal(config(`type = "${t}"`).type, t);
  });

  it("defaults memory and maxmem to each other, as libxl does", () => {
    assert.deepEqual([config("memory = 64").memoryMiB, config("memory = 64").maxmemMiB], [64, 64]);
    assert.deepEqual([config("maxmem = 64").memoryMiB, config("maxmem = 64").maxmemMiB], [64, 64]);
  });

  it("defaults maxvcpus to vcpus", () => {
    assert.equal(config("vcpus = 3").maxvcpus, 3);
    assert.deepEqual([config("maxvcpus = 3").vcpus, config("maxvcpus = 3").maxvcpus], [1, 3]);
  });

  it("reads numbers in hex, octal and quotes, as libxlu does", () => {
    assert.equal(config("memory = 0x40").memoryMiB, 64);
    assert.equal(config("memory = 0100").memoryMiB, 64);
    assert.equal(config('memory = "64"').memoryMiB, 64);
  });

  it("resolves relative kernel and disk paths against the config's directory", () => {
    const c = config("kernel = 'guest/k.elf'\ndisk = ['../img/a.raw,,xvda']");
    assert.equal(c.kernel, "/cfg/guest/k.elf");
    assert.equal(c.disks[0]!.target, "/img/a.raw");
  });

  it("takes a lone disk or vif string as a list of one", () => {
    assert.equal(config("disk = '/a,,xvda'").disks.length, 1);
    assert.equal(config("vif = ''").vifs[0]!.mac, "00:16:3e:01:02:03");
  });

  it("reads per-vCPU pinning lists and a bare-number CPU list", () => {
    assert.deepEqual(config('vcpus = 2\ncpus = ["2", "all,^5"]').cpus, {
      kind: "perVcpu",
      sets: [
        { all: false, cpus: [2] },
        { all: true, except: [5] },
      ],
    });
    assert.deepEqual(config("cpus = 3").cpus, { kind: "shared", set: { all: false, cpus: [3] } });
  });

  it("keeps the last of a repeated key and warns, and joins += values", () => {
    const r = parse(
      `${BASE}memory = 64\nmemory = 128\ndisk = ['/a,,xvda']\ndisk += ['/b,,xvdb']\nname += '-x'`,
    );
    assert.equal(r.config.memoryMiB, 128);
    assert.equal(r.config.name, "vm1-x");
    assert.deepEqual(
      r.config.disks.map((d) => d.vdev),
      ["xvda", "xvdb"],
    );
    assert.deepEqual(
      r.warnings.map((w) => [w.pos.line, w.key, w.message]),
      [[4, "memory", "set again; the value from line 3 is replaced (as in xl)"]],
    );
  });

  it("warns when a pinning list is longer than the vCPUs, and drops the extra entries as xl does", () => {
    const r = parse(`${BASE}vcpus = 1\ncpus = ["0", "1"]`);
    assert.deepEqual(r.config.cpus, { kind: "perVcpu", sets: [{ all: false, cpus: [0] }] });
    assert.match(r.warnings[0]!.message, /2 entries but only 1 vCPUs/);
  });
});

describe("domain config errors", () => {
  it("names file, line and key for a value of the wrong kind", () => {
    assert.equal(
      errorOf('memory = "lots"'),
      'vm.cfg:3: memory: expected an integer number of MiB, got "lots"',
    );
    assert.equal(errorOf("maxmem = [1]"), "vm.cfg:3: maxmem: expected an integer number of MiB, got a list");
    assert.equal(errorOf("type = 3"), "vm.cfg:3: type: expected a quoted string, got the number 3");
    assert.equal(errorOf("vcpus = 'two'"), 'vm.cfg:3: vcpus: expected an integer number of vCPUs, got "two"');
  });

  it("requires a name and a kernel", () => {
    assert.equal(errorOf("kernel = '/k'", ""), "vm.cfg:1: name: missing: every domain needs a name");
    assert.equal(errorOf("name = 'a'", ""), "vm.cfg:1: kernel: missing: the path of the guest kernel ELF");
    assert.equal(errorOf("name = 'a'\nkernel = ''", ""), "vm.cfg:2: kernel: empty path");
  });

  it("refuses names that do not fit store paths or look like domain IDs", () => {
    assert.match(errorOf("name = 'a b'", "kernel = '/k'\n"), /^vm.cfg:2: name: "a b": use 1 to 64 letters/);
    assert.match(errorOf("name = '42'", "kernel = '/k'\n"), /not all digits/);
    assert.match(errorOf("name = 'a/b'", "kernel = '/k'\n"), /name: "a\/b"/);
  });

  it("refuses a malformed uuid", () => {
    assert.equal(errorOf("uuid = 'abc'"), 'vm.cfg:3: uuid: "abc" is not a UUID (8-4-4-4-12 hex digits)');
  });

  it("refuses unknown types with a suggestion, and says pvh has no counterpart", () => {
    assert.equal(
      errorOf("type = 'hmv'"),
      'vm.cfg:3: type: "hmv" is not one of native, trap, bt, pv, hvm (did you mean "hvm"?)',
    );
    assert.match(errorOf("type = 'pvh'"), /^vm.cfg:3: type: Xen's "pvh" has no rvisor counterpart/);
  });

  it("checks memory ranges and that maxmem ≥ memory", () => {
    assert.equal(
      errorOf("memory = 0"),
      "vm.cfg:3: memory: 0 is out of range: an integer number of MiB must be at least 1",
    );
    assert.equal(
      errorOf("memory = 128\nmaxmem = 64"),
      "vm.cfg:4: maxmem: 64 MiB is less than memory (128 MiB): maxmem must be ≥ memory",
    );
  });

  it("checks vCPU ranges and that maxvcpus ≥ vcpus", () => {
    assert.equal(
      errorOf("vcpus = 0"),
      "vm.cfg:3: vcpus: 0 is out of range: an integer number of vCPUs must be 1..128",
    );
    assert.equal(
      errorOf("maxvcpus = 129"),
      "vm.cfg:3: maxvcpus: 129 is out of range: an integer number of vCPUs must be 1..128",
    );
    assert.equal(
      errorOf("vcpus = 4\nmaxvcpus = 2"),
      "vm.cfg:4: maxvcpus: 2 is less than vcpus (4): maxvcpus must be ≥ vcpus",
    );
  });

  it("checks cpu_weight and cap ranges", () => {
    assert.equal(
      errorOf("cpu_weight = 0"),
      "vm.cfg:3: cpu_weight: 0 is out of range: an integer weight must be 1..65535",
    );
    assert.equal(
      errorOf("cpu_weight = 65536"),
      "vm.cfg:3: cpu_weight: 65536 is out of range: an integer weight must be 1..65535",
    );
    assert.match(
      errorOf("cap = 'half'"),
      /^vm.cfg:3: cap: expected an integer percentage of one pCPU \(0 = no cap\), got "half"/,
    );
    assert.match(errorOf("cap = 99999"), /^vm.cfg:3: cap: 99999 is out of range/);
  });

  it("reports bad CPU lists, per vCPU when given as a list", () => {
    assert.equal(
      errorOf("cpus = '3-1'"),
      'vm.cfg:3: cpus: "3-1": a range runs from the lower CPU to the higher',
    );
    assert.equal(
      errorOf("cpus = ['1', [2]]"),
      'vm.cfg:3: cpus: vCPU 1: expected a CPU list string like "0-3,^2", got a list',
    );
    assert.equal(
      errorOf("cpus = ['nodes:0']"),
      'vm.cfg:3: cpus: vCPU 0: "nodes:0": rvisor\'s host has no NUMA nodes',
    );
    assert.match(errorOf("cpus = []"), /^vm.cfg:3: cpus: an empty list pins nothing/);
  });

  it("reports a bad disk or vif at its own line, with its index and text", () => {
    assert.equal(
      errorOf("disk = [\n  '/a,,xvda',\n  '/b,vhd,xvdb',\n]"),
      'vm.cfg:5: disk: disk 1 ("/b,vhd,xvdb"): format "vhd": rvisor reads raw and qcow2 images only',
    );
    assert.equal(
      errorOf("vif = ['mac=zz']"),
      'vm.cfg:3: vif: vif 0 ("mac=zz"): MAC "zz": expected six two-digit hex groups separated by ":", like 00:16:3e:12:34:56',
    );
    assert.equal(
      errorOf("disk = [1]"),
      "vm.cfg:3: disk: entry 0: expected a quoted spec string, got the number 1",
    );
  });

  it("refuses two disks with one vdev and two vifs with one MAC", () => {
    assert.equal(errorOf("disk = ['/a,,xvda', '/b,,xvda']"), "vm.cfg:3: disk: disks 0 and 1 are both xvda");
    assert.equal(errorOf("vif = ['', '']"), "vm.cfg:3: vif: vifs 0 and 1 both have MAC 00:16:3e:01:02:03");
  });

  it("refuses unknown actions with a suggestion, and soft-reset by name", () => {
    assert.match(
      errorOf("on_reboot = 'restat'"),
      /^vm.cfg:3: on_reboot: "restat" is not one of .* \(did you mean "restart"\?\)$/,
    );
    assert.equal(
      errorOf("on_crash = 'soft-reset'"),
      `vm.cfg:3: on_crash: "soft-reset" is Xen's but rvisor guests have no soft reset`,
    );
    assert.equal(
      errorOf("on_poweroff = 1"),
      "vm.cfg:3: on_poweroff: expected a quoted string, got the number 1",
    );
  });

  it("refuses unknown keys with a suggestion", () => {
    assert.equal(errorOf("memroy = 64"), 'vm.cfg:3: memroy: unknown key (did you mean "memory"?)');
    assert.equal(errorOf("colour = 'red'"), "vm.cfg:3: colour: unknown key");
  });

  it("says plainly which of Xen's keys rvisor does not support", () => {
    assert.match(
      errorOf("vnc = 1"),
      /^vm.cfg:3: vnc: Xen's xl.cfg has this key but rvisor does not support it: rvisor guests have no graphics/,
    );
    assert.match(errorOf("builder = 'hvm'"), /builder: .*write type = "pv" or type = "hvm"/);
    assert.match(errorOf("ramdisk = '/r'"), /ramdisk: Xen's xl.cfg has this key/);
  });

  it("refuses += between a string and a list", () => {
    assert.equal(
      errorOf("disk = ['/a,,xvda']\ndisk += '/b,,xvdb'"),
      'vm.cfg:4: disk: "+=" joins a string to a string or a list to a list, not "/b,,xvdb" to a list',
    );
  });

  it("reports every problem at once, in line order", () => {
    const lines = errorOf("memory = 'x'\nvcpus = 0\nfoo = 1").split("\n");
    assert.deepEqual(
      lines.map((l) => l.split(":").slice(0, 3).join(":")),
      ["vm.cfg:3: memory", "vm.cfg:4: vcpus", "vm.cfg:5: foo"],
    );
  });
});
