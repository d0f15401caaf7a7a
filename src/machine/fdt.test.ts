import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { buildFdt, type FdtOptions } from "./fdt.js";
import {
  CLINT_BASE,
  CLINT_SIZE,
  DRAM_BASE,
  PLIC_BASE,
  PLIC_SIZE,
  TEST_BASE,
  TEST_SIZE,
  UART0_BASE,
  UART0_IRQ,
  UART0_SIZE,
  VIRTIO_BASE,
  VIRTIO_STRIDE,
  virtioIrq,
} from "./memory-map.js";

const OPTS: FdtOptions = {
  harts: 2,
  ramBase: DRAM_BASE,
  ramSize: 128 * 1024 * 1024,
  bootargs: "console=ttyS0 earlycon=sbi",
  timebaseHz: 10_000_000,
  isa: "rv32imac",
  mmuType: "riscv,sv32",
  uart: { base: UART0_BASE, size: UART0_SIZE, irq: UART0_IRQ },
  clint: { base: CLINT_BASE, size: CLINT_SIZE },
  plic: { base: PLIC_BASE, size: PLIC_SIZE, ndev: 95 },
  test: { base: TEST_BASE, size: TEST_SIZE },
  virtio: [0, 1].map((i) => ({
    base: VIRTIO_BASE + VIRTIO_STRIDE * i,
    size: VIRTIO_STRIDE,
    irq: virtioIrq(i),
  })),
};

/** A parsed node: properties as raw bytes, children by name. */
interface Node {
  props: Map<string, Uint8Array>;
  children: Map<string, Node>;
}

/** A small, independent reader of the FDT format, strict about what it checks. */
function parse(blob: Uint8Array) {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const u32 = (off: number) => view.getUint32(off, false);
  const header = {
    magic: u32(0),
    totalsize: u32(4),
    offStruct: u32(8),
    offStrings: u32(12),
    offRsvmap: u32(16),
    version: u32(20),
    lastComp: u32(24),
    bootCpu: u32(28),
    sizeStrings: u32(32),
    sizeStruct: u32(36),
  };
  const reservations: [bigint, bigint][] = [];
  for (let off = header.offRsvmap; ; off += 16) {
    const addr = view.getBigUint64(off, false);
    const size = view.getBigUint64(off + 8, false);
    if (addr === 0n && size === 0n) break;
    reservations.push([addr, size]);
  }
  const cstr = (off: number) => {
    let end = off;
    while (blob[end] !== 0) end++;
    return { s: new TextDecoder().decode(blob.subarray(off, end)), end: end + 1 };
  };
  const align = (n: number) => (n + 3) & ~3;
  let p = header.offStruct;
  const readNode = (): [string, Node] => {
    assert.equal(u32(p), 1, `FDT_BEGIN_NODE expected at ${p}`);
    const { s: name, end } = cstr(p + 4);
    p = align(end);
    const node: Node = { props: new Map(), children: new Map() };
    for (;;) {
      const token = u32(p);
      if (token === 3) {
        const len = u32(p + 4);
        const nameoff = u32(p + 8);
        assert.ok(nameoff < header.sizeStrings, "property name inside the strings block");
        node.props.set(cstr(header.offStrings + nameoff).s, blob.slice(p + 12, p + 12 + len));
        p = align(p + 12 + len);
      } else if (token === 1) {
        const [childName, child] = readNode();
        node.children.set(childName, child);
      } else {
        assert.equal(token, 2, `FDT_END_NODE expected at ${p}`);
        p += 4;
        return [name, node];
      }
    }
  };
  const [rootName, root] = readNode();
  assert.equal(rootName, "");
  assert.equal(u32(p), 9, "FDT_END after the root");
  assert.equal(p + 4 - header.offStruct, header.sizeStruct);
  return { header, reservations, root };
}

const at = (root: Node, path: string): Node => {
  let n = root;
  for (const part of path.split("/").filter((x) => x !== "")) {
    const next = n.children.get(part);
    assert.ok(next, `node ${path}: no ${part}`);
    n = next;
  }
  return n;
};
const prop = (n: Node, name: string): Uint8Array => {
  const v = n.props.get(name);
  assert.ok(v !== undefined, `property ${name} missing`);
  return v;
};
const str = (n: Node, name: string) => new TextDecoder().decode(prop(n, name)).replace(/\0$/, "");
const strs = (n: Node, name: string) => str(n, name).split("\0");
const cells = (n: Node, name: string) => {
  const b = prop(n, name);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Array.from({ length: b.length / 4 }, (_, i) => v.getUint32(4 * i, false));
};
const phandleOf = (n: Node) => cells(n, "phandle")[0];

describe("buildFdt", () => {
  const blob = buildFdt(OPTS);
  const { header, reservations, root } = parse(blob);

  it("writes a version 17 header whose blocks fit the blob", () => {
    assert.equal(header.magic, 0xd00dfeed);
    assert.equal(header.version, 17);
    assert.equal(header.lastComp, 16);
    assert.equal(header.totalsize, blob.length);
    assert.equal(header.offRsvmap % 8, 0);
    assert.equal(header.offStruct % 4, 0);
    assert.equal(header.offStrings + header.sizeStrings, header.totalsize);
    assert.deepEqual(reservations, []);
  });

  it("describes memory with 2-cell addresses and sizes", () => {
    assert.deepEqual(cells(root, "#address-cells"), [2]);
    const mem = at(root, "memory@80000000");
    assert.equal(str(mem, "device_type"), "memory");
    assert.deepEqual(cells(mem, "reg"), [0, 0x8000_0000, 0, 0x0800_0000]);
  });

  it("describes each hart with its ISA, MMU and local interrupt controller", () => {
    const cpus = at(root, "cpus");
    assert.deepEqual(cells(cpus, "timebase-frequency"), [10_000_000]);
    for (const h of [0, 1]) {
      const cpu = at(cpus, `cpu@${h}`);
      assert.equal(str(cpu, "device_type"), "cpu");
      assert.deepEqual(cells(cpu, "reg"), [h]);
      assert.equal(str(cpu, "riscv,isa"), "rv32imac");
      assert.equal(str(cpu, "mmu-type"), "riscv,sv32");
      assert.equal(str(cpu, "status"), "okay");
      const intc = at(cpu, "interrupt-controller");
      assert.deepEqual(cells(intc, "#interrupt-cells"), [1]);
      assert.equal(prop(intc, "interrupt-controller").length, 0);
      assert.equal(str(intc, "compatible"), "riscv,cpu-intc");
      assert.deepEqual(cells(at(cpus, `cpu-map/cluster0/core${h}`), "cpu"), [phandleOf(cpu)]);
    }
  });

  it("wires the CLINT to each hart's M soft and M timer interrupts and the PLIC to M/S external", () => {
    const intc = [0, 1].map((h) => phandleOf(at(root, `cpus/cpu@${h}/interrupt-controller`)));
    const clint = at(root, "soc/clint@2000000");
    assert.deepEqual(cells(clint, "interrupts-extended"), [intc[0], 3, intc[0], 7, intc[1], 3, intc[1], 7]);
    assert.deepEqual(cells(clint, "reg"), [0, CLINT_BASE, 0, CLINT_SIZE]);
    const plic = at(root, "soc/plic@c000000");
    assert.deepEqual(cells(plic, "interrupts-extended"), [intc[0], 11, intc[0], 9, intc[1], 11, intc[1], 9]);
    assert.deepEqual(cells(plic, "riscv,ndev"), [95]);
    assert.deepEqual(strs(plic, "compatible"), ["sifive,plic-1.0.0", "riscv,plic0"]);
  });

  it("routes the UART and virtio interrupts through the PLIC", () => {
    const plic = phandleOf(at(root, "soc/plic@c000000"));
    const uart = at(root, "soc/serial@10000000");
    assert.equal(str(uart, "compatible"), "ns16550a");
    assert.deepEqual(cells(uart, "interrupts"), [10]);
    assert.deepEqual(cells(uart, "interrupt-parent"), [plic]);
    assert.deepEqual(cells(uart, "clock-frequency"), [0x384000]);
    const v1 = at(root, "soc/virtio_mmio@10002000");
    assert.deepEqual(cells(v1, "interrupts"), [2]);
    assert.deepEqual(cells(v1, "reg"), [0, 0x1000_2000, 0, 0x1000]);
    assert.equal(str(v1, "compatible"), "virtio,mmio");
  });

  it("offers poweroff and reboot through syscon nodes on the test device", () => {
    const test = at(root, "soc/test@100000");
    assert.deepEqual(strs(test, "compatible"), ["sifive,test1", "sifive,test0", "syscon"]);
    const poweroff = at(root, "poweroff");
    assert.equal(str(poweroff, "compatible"), "syscon-poweroff");
    assert.deepEqual(cells(poweroff, "regmap"), [phandleOf(test)]);
    assert.deepEqual(cells(poweroff, "value"), [0x5555]);
    assert.deepEqual(cells(at(root, "reboot"), "value"), [0x7777]);
  });

  it("points /chosen at the UART and carries the boot arguments", () => {
    const chosen = at(root, "chosen");
    assert.equal(str(chosen, "stdout-path"), "/soc/serial@10000000");
    assert.equal(str(chosen, "bootargs"), "console=ttyS0 earlycon=sbi");
    const bare = parse(buildFdt({ ...OPTS, bootargs: undefined })).root;
    assert.equal(at(bare, "chosen").props.has("bootargs"), false);
  });

  it("gives every phandle a distinct value", () => {
    const seen: number[] = [];
    const walk = (n: Node) => {
      if (n.props.has("phandle")) seen.push(phandleOf(n));
      for (const c of n.children.values()) walk(c);
    };
    walk(root);
    assert.equal(new Set(seen).size, seen.length);
    assert.equal(seen.length, 2 * 2 + 2);
  });

  it("decompiles cleanly with dtc, when dtc is installed", (t) => {
    const probe = spawnSync("dtc", ["--version"]);
    if (probe.error !== undefined) {
      t.skip("dtc is not installed (Debian package device-tree-compiler)");
      return;
    }
    const r = spawnSync("dtc", ["-I", "dtb", "-O", "dts", "-"], { input: blob, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "", "dtc has no warnings");
    assert.match(r.stdout, /\/dts-v1\/;/);
    assert.match(r.stdout, /cpu@1 \{/);
    assert.match(r.stdout, /riscv,isa = "rv32imac";/);
    assert.match(r.stdout, /bootargs = "console=ttyS0 earlycon=sbi";/);
    // dtc 1.6 prints string lists with their NULs escaped.
    assert.match(r.stdout, /compatible = "sifive,test1(\\0|", ")sifive,test0(\\0|", ")syscon";/);
  });
});
