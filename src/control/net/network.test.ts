/**
 * Guest networking end to end: virtio-net devices on switch ports (with a TypeScript driver), then the
 * guest kernel's shells in domains on one Hypervisor — `udpecho` in one, `udpsend` and `ping` from the
 * other, over a switch that learns both — and a domain on another bridge that reaches neither.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Domain, DomainMode } from "../../hypervisor/domain.js";
import { DomainConfigError, Hypervisor } from "../../hypervisor/hypervisor.js";
import { kernelFor } from "../../hypervisor/testing/kernel-domains.js";
import { makeVirtioEnv, TestDriver } from "../../hypervisor/testing/virtio-driver.js";
import { featureBits, VIRTIO_F_VERSION_1 } from "../../hypervisor/virtio/device.js";
import { VirtioMmio } from "../../hypervisor/virtio/mmio.js";
import {
  macBytes,
  NET_RX_QUEUE,
  NET_TX_QUEUE,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_HDR_SIZE,
  VirtioNet,
} from "../../hypervisor/virtio/net.js";
import { BufferConsole } from "../../machine/devices/console.js";
import { DRAM_BASE, VIRTIO_COUNT } from "../../machine/memory-map.js";
import { kernelElf, kernelPvElf } from "../../testing/kernel.js";
import { type FdbEntry, type SwitchPort, VirtualSwitch } from "./switch.js";

function frame(dst: string, src: string, tag: number): Uint8Array {
  const f = new Uint8Array(60);
  f.set(macBytes(dst), 0);
  f.set(macBytes(src), 6);
  f[20] = tag;
  return f;
}

/** A virtio-net device on `port` with a live TypeScript driver (queues of 8). */
function attach(port: VirtualSwitch["portList"][number], mac: string) {
  const env = makeVirtioEnv();
  const dev = new VirtioNet(mac, port);
  const t = new VirtioMmio(mac, env.mem, dev, () => {});
  const drv = new TestDriver(t, env.mem, DRAM_BASE + 0x1_0000);
  assert.ok(drv.init(featureBits(VIRTIO_F_VERSION_1, VIRTIO_NET_F_MAC)));
  const rx = drv.setupQueue(NET_RX_QUEUE, 8);
  const tx = drv.setupQueue(NET_TX_QUEUE, 8);
  drv.driverOk();
  return { dev, t, drv, rx, tx };
}

describe("virtio-net on the switch", () => {
  it("a port keeps frames the guest has no buffer for (bounded) and delivers them once it posts some", () => {
    const sw = new VirtualSwitch("br", { now: () => 0, queueFrames: 2 });
    const port = sw.addPort("vif1.0");
    const a = attach(port, "00:16:3e:00:00:01");
    const other = sw.addPort("vif2.0");
    for (let i = 0; i < 3; i++) other.send(frame("00:16:3e:00:00:01", "00:16:3e:00:00:02", i));
    assert.equal(a.dev.counters.rxNoBuffer, 1, "refused once; the port then waits for the driver");
    assert.equal(port.queued, 2);
    assert.equal(port.counters.outDropped, 1);
    const b1 = a.drv.submit(a.rx, [], [1526]);
    const b2 = a.drv.submit(a.rx, [], [1526]);
    a.drv.notify(a.rx);
    assert.deepEqual(
      a.drv.used(a.rx).map((u) => u.id),
      [b1.head, b2.head],
    );
    assert.equal(a.drv.read(b1.inAddrs[0] + VIRTIO_NET_HDR_SIZE + 20, 1)[0], 0);
    assert.equal(a.drv.read(b2.inAddrs[0] + VIRTIO_NET_HDR_SIZE + 20, 1)[0], 1);
    assert.equal(port.queued, 0);
    assert.equal(port.counters.outFrames, 2);
  });

  it("two devices talk through the switch, which learns both; a closed device leaves its port", () => {
    const sw = new VirtualSwitch("br", { now: () => 0 });
    const a = attach(sw.addPort("vif1.0"), "00:16:3e:00:00:01");
    const b = attach(sw.addPort("vif2.0"), "00:16:3e:00:00:02");
    const rb = b.drv.submit(b.rx, [], [1526]);
    b.drv.notify(b.rx);
    a.drv.submit(
      a.tx,
      [new Uint8Array(VIRTIO_NET_HDR_SIZE), frame("00:16:3e:00:00:02", "00:16:3e:00:00:01", 7)],
      [],
    );
    a.drv.notify(a.tx);
    assert.deepEqual(b.drv.used(b.rx), [{ id: rb.head, len: VIRTIO_NET_HDR_SIZE + 60 }]);
    assert.equal(b.drv.read(rb.inAddrs[0] + VIRTIO_NET_HDR_SIZE + 20, 1)[0], 7);
    b.drv.submit(
      b.tx,
      [new Uint8Array(VIRTIO_NET_HDR_SIZE), frame("ff:ff:ff:ff:ff:ff", "00:16:3e:00:00:02", 8)],
      [],
    );
    b.drv.notify(b.tx);
    assert.deepEqual(
      sw.fdbEntries().map((e) => `${e.mac} ${e.port}`),
      ["00:16:3e:00:00:01 vif1.0", "00:16:3e:00:00:02 vif2.0"],
    );
    b.t.close();
    assert.deepEqual(
      sw.portList.map((p) => p.name),
      ["vif1.0"],
    );
    assert.equal(sw.fdbEntries().length, 1);
  });
});

const MAX_INSNS = 2_000_000_000;

/** A console that calls `fn` once, the first time its output contains `marker`. */
function onOutput(console: BufferConsole, marker: string, fn: () => void): void {
  const write = console.write.bind(console);
  let done = false;
  console.write = (byte: number) => {
    write(byte);
    if (!done && byte === 10 && console.text().includes(marker)) {
      done = true;
      fn();
    }
  };
}

interface Shell {
  domain: Domain;
  console: BufferConsole;
  port: SwitchPort | undefined;
}

function shell(
  hv: Hypervisor,
  mode: DomainMode,
  name: string,
  sw: VirtualSwitch,
  input = "",
  vcpus = 1,
): Shell {
  const console = new BufferConsole(input);
  const s: Partial<Shell> = { console };
  s.domain = hv.createDomain({
    mode,
    kernel: mode === "pv" ? kernelPvElf() : kernelElf(),
    name,
    console,
    vcpus,
    nics: [{ connect: (id, i) => (s.port = sw.addPort(`vif${id}.${i}`)) }],
  });
  return s as Shell;
}

/**
 * A (10.0.0.1) serves `udpecho 7`; once it says so, B (10.0.0.2) runs udpsend and ping against it;
 * when B is done, A kills its echo thread and powers off.
 */
function echoAndPing(hv: Hypervisor, modeA: DomainMode, modeB: DomainMode, sw: VirtualSwitch, vcpus = 1) {
  const a = shell(hv, modeA, "a", sw, "udpecho 7\n", vcpus);
  const b = shell(hv, modeB, "b", sw, "", vcpus);
  // What the switch has learned while both are up (a domain's port goes when the domain ends).
  const learned: FdbEntry[] = [];
  onOutput(b.console, "rtt min/avg/max", () => learned.push(...sw.fdbEntries()));
  onOutput(a.console, "echoes UDP", () =>
    b.console.feed("udpsend 10.0.0.1 7 hello\nping 10.0.0.1 3\nifconfig\nshutdown\n"),
  );
  hv.onDomainEnd.push((d) => {
    if (d !== b.domain) return;
    const pid = /udpecho: pid (\d+)/.exec(a.console.text())?.[1];
    // The killed thread exits once it runs: while `sleeper` sleeps (then the shell reaps it).
    a.console.feed(`kill ${pid}\nrun sleeper 20\nps\nifconfig\nshutdown\n`);
  });
  return { a, b, learned };
}

function checkEcho(a: Shell, b: Shell): void {
  const outA = a.console.text();
  const outB = b.console.text();
  assert.match(outA, /^eth0: virtio-net, MAC 00:16:3e:00:00:01, inet 10\.0\.0\.1$/m);
  assert.match(outA, /^udpecho: pid \d+ echoes UDP on 10\.0\.0\.1 port 7$/m);
  assert.match(outB, /^reply from 10\.0\.0\.1:7 \(5 bytes, \d+\.\d{3} ms\): hello$/m, outB);
  for (const seq of [1, 2, 3])
    assert.match(
      outB,
      new RegExp(`^64 bytes from 10\\.0\\.0\\.1: icmp_seq=${seq} ttl=64 time=\\d+\\.\\d{3} ms$`, "m"),
    );
  assert.match(outB, /^3 packets transmitted, 3 received, 0% packet loss, time \d+ ms$/m);
  assert.match(outB, /^rtt min\/avg\/max = [\d.]+\/[\d.]+\/[\d.]+ ms$/m);
  // After the kill, the echo thread is gone from A's process table.
  const ps = outA.slice(outA.lastIndexOf("$ ps"));
  assert.doesNotMatch(ps.slice(0, ps.indexOf("$ ifconfig")), /udpecho/);
  assert.match(outA, /in\/out: arp 1\/1, icmp 3\/3, udp 1\/1; udp to no port 0/);
  for (const s of [a, b]) assert.deepEqual(s.domain.end, { state: "shutdown", code: 0, reason: "poweroff" });
}

describe("guest networking between domains", () => {
  for (const mode of ["trap", "pv", "hvm"] as const) {
    it(`${mode}: udpsend gets its echo back and ping 3 replies; the switch learned both MACs`, () => {
      const hv = new Hypervisor({ pcpus: 2 });
      const sw = new VirtualSwitch("xenbr0", { now: () => hv.nowNs });
      const { a, b, learned } = echoAndPing(hv, mode, mode, sw);
      const exit = hv.runSync({ maxInsns: MAX_INSNS });
      assert.equal(exit.kind, "poweroff", `${exit.kind}: ${exit.message}\n${b.console.text()}`);
      checkEcho(a, b);
      assert.deepEqual(
        learned.map((e) => `${e.mac} ${e.port}`),
        ["00:16:3e:00:00:01 vif1.0", "00:16:3e:00:00:02 vif2.0"],
      );
      for (const p of [a.port!, b.port!]) assert.equal(p.counters.outDropped + p.counters.inInvalid, 0);
      assert.equal(sw.portList.length, 0, "both domains ended: their ports are gone");
    });
  }

  it("SMP guests (two vCPUs each, trap and pv): the stack and driver under the big kernel lock echo and ping", () => {
    const hv = new Hypervisor({ pcpus: 2 });
    const sw = new VirtualSwitch("xenbr0", { now: () => hv.nowNs });
    const { a, b } = echoAndPing(hv, "trap", "pv", sw, 2);
    const exit = hv.runSync({ maxInsns: MAX_INSNS });
    assert.equal(exit.kind, "poweroff", `${exit.kind}: ${exit.message}\n${b.console.text()}`);
    for (const s of [a, b]) assert.match(s.console.text(), /^smp: 2 of 2 CPUs online$/m);
    checkEcho(a, b);
  });

  it("counts its interfaces in the domain's virtio slots: too many devices are refused before a port is made", () => {
    const hv = new Hypervisor({ pcpus: 1 });
    const sw = new VirtualSwitch("xenbr0", { now: () => hv.nowNs });
    const connect = (id: number, i: number) => sw.addPort(`vif${id}.${i}`);
    const nics = Array.from({ length: VIRTIO_COUNT }, () => ({ connect }));
    assert.throws(
      () =>
        hv.createDomain({
          mode: "trap",
          kernel: kernelElf(),
          name: "many",
          virtioConsole: new BufferConsole(),
          nics,
        }),
      (e: Error) =>
        e instanceof DomainConfigError &&
        e.message ===
          `many: 0 disks and ${VIRTIO_COUNT + 1} other virtio devices, but a domain has ${VIRTIO_COUNT} virtio slots`,
    );
    assert.equal(sw.portList.length, 0);
    assert.equal(hv.domains.size, 0);
    const d = hv.createDomain({ mode: "trap", kernel: kernelElf(), name: "many", nics });
    assert.equal(d.devices?.virtio.filter((t) => t?.device instanceof VirtioNet).length, VIRTIO_COUNT);
    assert.deepEqual(
      sw.portList.map((p) => p.name),
      Array.from({ length: VIRTIO_COUNT }, (_, i) => `vif${d.id}.${i}`),
    );
  });

  it("bt and trap talk; a domain on another bridge reaches neither, and its frames never reach theirs", () => {
    const hv = new Hypervisor({ pcpus: 2 });
    const br0 = new VirtualSwitch("xenbr0", { now: () => hv.nowNs });
    const br1 = new VirtualSwitch("br1", { now: () => hv.nowNs });
    const { a, b, learned } = echoAndPing(hv, "bt", "trap", br0);
    const c = shell(hv, "trap", "c", br1, "ping 10.0.0.1 1\nudpsend 10.0.0.1 7 hi\nifconfig\nshutdown\n");
    const exit = hv.runSync({ maxInsns: MAX_INSNS });
    assert.equal(exit.kind, "poweroff");
    checkEcho(a, b);
    const outC = c.console.text();
    assert.match(outC, /^eth0: virtio-net, MAC 00:16:3e:00:00:03, inet 10\.0\.0\.3$/m);
    assert.match(outC, /^From 10\.0\.0\.3 icmp_seq=1 Destination Host Unreachable$/m);
    assert.match(outC, /^1 packets transmitted, 0 received, \+1 errors, 100% packet loss/m);
    assert.match(outC, /^udpsend: cannot send to 10\.0\.0\.1 /m);
    assert.equal(learned.length, 2);
    assert.ok(!learned.some((e) => e.mac === "00:16:3e:00:00:03"));
    assert.equal(
      c.port?.counters.inFrames,
      6,
      "C's ARP requests (3 for ping, 3 for udpsend) went out on br1",
    );
    assert.equal(c.port?.counters.outFrames, 0, "and nothing came back");
  });

  it("the kernel's suite with an interface runs its net tests too (trap: a derived address, pv: ip= given)", () => {
    const hv = new Hypervisor({ pcpus: 2 });
    const guests = (["trap", "pv"] as const).map((mode, i) => {
      const console = new BufferConsole();
      const sw = new VirtualSwitch(`br${i}`, { now: () => hv.nowNs });
      hv.createDomain({
        mode,
        kernel: kernelFor(mode),
        name: mode,
        console,
        bootargs: mode === "pv" ? "ip=192.168.7.9/24" : undefined,
        nics: [{ mac: "00:16:3e:0a:0b:0c", connect: (id, n) => sw.addPort(`vif${id}.${n}`) }],
      });
      return console;
    });
    const exit = hv.runSync({ maxInsns: MAX_INSNS });
    assert.equal(exit.kind, "poweroff");
    for (const console of guests) {
      const out = console.text();
      assert.match(out, /^PASS net$/m, out);
      assert.match(out, /^PASS net-arp$/m, out);
      assert.match(out, /^tests: 17 passed, 0 failed$/m, out);
    }
    assert.match(guests[0].text(), /inet 10\.10\.11\.12$/m);
    assert.match(guests[1].text(), /inet 192\.168\.7\.9$/m);
  });
});
