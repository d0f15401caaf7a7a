/**
 * virtio-console: against a driver written in TypeScript (transmit to the backend, receive buffers
 * filled only as input arrives, none lost while no buffer is posted, a hostile transmit chain), then the
 * guest kernel's hvc0 in a domain of every mode: its output reaches the host backend, and host input —
 * also input that arrives while the guest sleeps waiting for it — reaches the guest; and the shell the
 * kernel runs on hvc0, beside the one on the serial console.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BufferConsole, type ConsoleBackend } from "../../machine/devices/console.js";
import { kernelElf, kernelPvElf } from "../../testing/kernel.js";
import { DOMAIN_MODES } from "../domain.js";
import { Hypervisor } from "../hypervisor.js";
import { makeVirtioEnv, TestDriver } from "../testing/virtio-driver.js";
import { CONSOLE_RECEIVEQ, CONSOLE_TRANSMITQ, VirtioConsole } from "./console.js";
import { REG_CONFIG, REG_STATUS, STATUS_DEVICE_NEEDS_RESET, VirtioMmio } from "./mmio.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function consoleDevice(input = "") {
  const env = makeVirtioEnv();
  const backend = new BufferConsole(input);
  const dev = new VirtioConsole(backend);
  const t = new VirtioMmio("virtio0 (virtio-console)", env.mem, dev, () => {});
  const drv = new TestDriver(t, env.mem);
  assert.ok(drv.init());
  const rx = drv.setupQueue(CONSOLE_RECEIVEQ, 8);
  const tx = drv.setupQueue(CONSOLE_TRANSMITQ, 8);
  drv.driverOk();
  return { env, backend, dev, t, drv, rx, tx };
}

describe("virtio-console", () => {
  it("sends what the driver transmits to the backend", () => {
    const s = consoleDevice();
    const { head } = s.drv.submit(s.tx, [bytes("hello, "), bytes("host\n")], []);
    s.drv.notify(s.tx);
    assert.deepEqual(s.drv.used(s.tx), [{ id: head, len: 0 }]);
    assert.equal(s.backend.text(), "hello, host\n");
    assert.equal(s.drv.reg(REG_CONFIG + 4), 1, "max_nr_ports");
    s.t.write(REG_CONFIG + 8, 4, 0x21); // emerg_wr
    assert.equal(s.backend.text(), "hello, host\n!");
  });

  it("fills receive buffers with input as it arrives and keeps input until a buffer is there", () => {
    const s = consoleDevice("abcdefgh");
    const a = s.drv.submit(s.rx, [], [5]);
    s.drv.notify(s.rx);
    assert.deepEqual(s.drv.used(s.rx), [{ id: a.head, len: 5 }]);
    assert.equal(text(s.drv.read(a.inAddrs[0], 5)), "abcde");
    s.t.poll(); // no buffer: the rest waits
    s.backend.feed("ij");
    const b = s.drv.submit(s.rx, [], [16]);
    s.t.poll();
    assert.deepEqual(s.drv.used(s.rx), [{ id: b.head, len: 5 }]);
    assert.equal(text(s.drv.read(b.inAddrs[0], 5)), "fghij");
    assert.deepEqual(s.dev.stats, { bytesOut: 0, bytesIn: 10 });
  });

  it("needs a reset for a transmit chain larger than 64 KiB or outside RAM, and the host does not throw", () => {
    const s = consoleDevice();
    s.drv.writeDesc(s.tx.desc, 0, 0x8000_0000, 0xffff_ffff, 0);
    s.drv.publish(s.tx, 0);
    s.drv.notify(s.tx);
    assert.match(s.t.lastError ?? "", /transmit chain 0 of 4294967295 bytes/);
    const s2 = consoleDevice();
    s2.drv.writeDesc(s2.tx.desc, 0, 0x1000_1000, 16, 0);
    s2.drv.publish(s2.tx, 0);
    s2.drv.notify(s2.tx);
    assert.match(s2.t.lastError ?? "", /not in the domain's RAM/);
    assert.equal(s2.drv.reg(REG_STATUS) & STATUS_DEVICE_NEEDS_RESET, STATUS_DEVICE_NEEDS_RESET);
  });
});

/** The domain's main console, remembering whether the guest has printed `mark` yet. */
class Watching extends BufferConsole {
  private tail = "";
  seen = false;
  constructor(
    input: string,
    private readonly mark: string,
  ) {
    super(input);
  }
  override write(byte: number): void {
    super.write(byte);
    this.tail = (this.tail + String.fromCharCode(byte)).slice(-this.mark.length);
    if (this.tail === this.mark) this.seen = true;
  }
}

/** hvc0's backend: its input appears only once `ready()` — the guest is asleep waiting for it by then. */
class LateInput implements ConsoleBackend {
  readonly out: number[] = [];
  private readonly input: number[];
  constructor(
    input: string,
    private readonly ready: () => boolean,
  ) {
    this.input = [...bytes(input)];
  }
  write(byte: number): void {
    this.out.push(byte);
  }
  read(): number {
    return this.ready() ? (this.input.shift() ?? -1) : -1;
  }
}

describe("the guest kernel's hvc0", () => {
  for (const mode of DOMAIN_MODES) {
    it(`carries output to the host and host input to the guest in ${mode} mode`, () => {
      const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 48 });
      const console = new Watching(
        "hvc write hello from the guest\nhvc read\nhvc read\nshutdown\n",
        "$ hvc read\n",
      );
      const lines = "ping from the host\nand a line longer than one receive buffer of sixty-four bytes\n";
      const hvc = new LateInput(lines, () => console.seen);
      const kernel = mode === "pv" ? kernelPvElf() : kernelElf();
      const d = hv.createDomain({ mode, kernel, console, memoryMiB: 16, virtioConsole: hvc });
      const exit = hv.runSync({ maxInsns: 200_000_000 });
      assert.equal(exit.kind, "poweroff", exit.message);
      const out = console.text();
      assert.match(out, /^hvc0: virtio-console$/m);
      assert.match(out, /^\$ hvc read\nhvc0: ping from the host\n/m, out);
      assert.match(out, /^hvc0: and a line longer than one receive buffer of sixty-four bytes$/m);
      // hvc0 has its own shell (its banner and prompt), which left the lines `hvc read` claimed alone.
      const hvcOut = text(Uint8Array.from(hvc.out));
      assert.match(hvcOut, /^hvc0: rvisor guest kernel shell; type help for the commands\n\$ /m);
      assert.match(hvcOut, /hello from the guest\n/);
      assert.doesNotMatch(hvcOut, /ping from the host/, "the shell on hvc0 did not take the claimed line");
      const t = d.devices?.virtio[0];
      assert.equal(t?.lastError, undefined);
      assert.ok((t?.stats.interrupts ?? 0) >= 2, "input arrived by interrupt");
    });
  }
});

/** A console whose input comes in steps, each once its condition holds (what the guest has printed). */
class Scripted implements ConsoleBackend {
  readonly out: number[] = [];
  private pending: number[] = [];
  constructor(private readonly steps: { after: () => boolean; input: string }[]) {}
  get text(): string {
    return text(Uint8Array.from(this.out));
  }
  write(byte: number): void {
    this.out.push(byte);
  }
  read(): number {
    if (this.pending.length === 0 && this.steps.length > 0 && this.steps[0].after())
      this.pending = [...bytes(this.steps.shift()!.input)];
    return this.pending.shift() ?? -1;
  }
}

describe("the guest kernel's shell on hvc0", () => {
  for (const mode of ["trap", "pv"] as const) {
    it(`runs commands typed into hvc0 there, apart from the serial console's shell, in ${mode} mode`, () => {
      const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 48 });
      const hvc: Scripted = new Scripted([
        { after: () => hvc.text.includes("$ "), input: "uptime\nrun hello from hvc0\n" },
      ]);
      const serial: Scripted = new Scripted([
        { after: () => /hello from pid \d+: hello from hvc0\n\$ $/.test(hvc.text), input: "ps\nshutdown\n" },
      ]);
      const kernel = mode === "pv" ? kernelPvElf() : kernelElf();
      hv.createDomain({ mode, kernel, console: serial, memoryMiB: 16, virtioConsole: hvc });
      const exit = hv.runSync({ maxInsns: 200_000_000 });
      assert.equal(exit.kind, "poweroff", exit.message);
      assert.match(hvc.text, /^\$ uptime\nup \d+\.\d{3} s, \d+ ticks, \d+ processes$/m);
      assert.match(hvc.text, /^\$ run hello from hvc0\nhello from pid \d+: hello from hvc0$/m);
      // The serial console has its own shell: the ps it was given, and none of hvc0's dialogue.
      assert.match(serial.text, /^ +\d+ +1 +sleeping +\d+ +hvc0-shell \[kernel\]$/m);
      assert.doesNotMatch(serial.text, /hello from hvc0|^up \d/m);
      assert.doesNotMatch(hvc.text, /PID +PPID/);
    });
  }
});
