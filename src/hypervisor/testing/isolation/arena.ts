/**
 * The isolation harness: an arena (a host, a victim domain and the guests under test), the snapshot it
 * takes before a run and the checks after it. Isolation, the hypervisor's first property, for each mode
 * (`trap`, `bt` and `pv`):
 *
 * 1. no other domain's memory changes: every host frame that neither the hostile domain, a well-behaved
 *    companion nor the hypervisor (shadow tables) owns hashes the same before and after — the victim's
 *    RAM (a known pattern, and a kernel asleep forever, so it cannot change it itself) and every free
 *    frame — and the allocator's ownership counts are unchanged;
 * 2. the host keeps running: no host exception ever escapes, the host harts' M-mode state is untouched,
 *    and the shadows of a hostile domain that is still alive map only its own frames (never a pinned
 *    table writable);
 * 3. the offender ends `crashed` with a reason naming the vCPU and the cause, or — where the
 *    hypervisor's answer is an SBI error or a fault it delivers — sees exactly that error or fault, which
 *    the guest records in its RAM (testing/hostile.ts: RESULTS) for the test to read.
 *
 * A `Hostile` is a guest builder and the check of what it must have seen; the groups of them are in
 * this folder (hostiles.ts lists them), the tests in hypervisor/isolation-*.test.ts.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { ElfImage } from "../../../machine/elf.js";
import { encode } from "../../../machine/isa/encode.js";
import { DRAM_BASE } from "../../../machine/memory-map.js";
import { PAGE_SIZE } from "../../../machine/params.js";
import type { Domain } from "../../domain.js";
import { type DomainSpec, Hypervisor } from "../../hypervisor.js";
import { type HostFrame, hostPhysOf } from "../../memory/addresses.js";
import { HYPERVISOR, type Owner } from "../../memory/frames.js";
import { hashFrames } from "../../memory/test-support.js";
import {
  type Asm,
  CODE,
  type Mode,
  NO_FAULT,
  R,
  RESULTS,
  T1,
  T2,
  TABLE,
  V,
  victimImage,
  W,
  X,
} from "../hostile.js";

export const MODES: readonly Mode[] = ["trap", "bt", "pv"];
export const MiB = 1024 * 1024;
/** RAM of every hostile guest, and where it ends. */
const GUEST_MIB = 4;
export const RAM_END = DRAM_BASE + GUEST_MIB * MiB;

export const SBI_ERR_NOT_SUPPORTED = -2;
export const SBI_ERR_INVALID_PARAM = -3;
export const SBI_ERR_DENIED = -4;
export const SBI_ERR_INVALID_ADDRESS = -5;
export const SBI_ERR_ALREADY_AVAILABLE = -6;

export const CAUSE_ILLEGAL = 2;
const CAUSE_LOAD_ACCESS = 5;
export const CAUSE_STORE_ACCESS = 7;
const CAUSE_LOAD_PAGE = 13;
export const CAUSE_STORE_PAGE = 15;

/**
 * Host devices a guest must never reach (host-physical addresses of the board). The PLIC's and UART's
 * addresses are a domain's own virtual devices (devices.ts), so they are legitimate guest accesses.
 */
export const CLINT = 0x0200_0000;
export const PLIC = 0x0c00_0000;
export const UART = 0x1000_0000;
export const TEST_DEVICE = 0x0010_0000;

export const gfnOf = (gpa: number): number => Math.floor(gpa / PAGE_SIZE);

export const SATP_SV32 = 0x8000_0000;
/** Page-table pages a guest prepares (testing/hostile.ts TABLE): its root, a leaf table, a data page. */
export const ROOT = TABLE(0);
export const L0 = TABLE(1);
export const WPAGE = TABLE(3);
export const RW = V | R | W;

// ── the arena: a host, a victim, the hostile guests, and the checks ────────────────────────────────────

const victims = new Map<Mode, ElfImage>();
const victimOf = (mode: Mode): ElfImage => {
  let img = victims.get(mode);
  if (img === undefined) {
    img = victimImage(mode);
    victims.set(mode, img);
  }
  return img;
};

interface HartState {
  priv: number;
  mtvec: number;
  medeleg: number;
  mideleg: number;
  mie: number;
  stvec: number;
  mscratch: number;
  mcounteren: number;
  menvcfg: number;
  pmp: string;
}

interface Snapshot {
  /** Per RAM frame index (not owned by a mutable domain or the hypervisor): owner and digest. */
  frames: Map<number, { owner: Owner | undefined; digest: string }>;
  counts: Map<Owner, number>;
  victimHash: string;
  harts: HartState[];
}

export class Arena {
  readonly hv: Hypervisor;
  readonly victim: Domain;
  /** Domains allowed to change their own memory: the hostile ones and any well-behaved companion. */
  readonly mutable: Domain[] = [];
  private snap: Snapshot | undefined;

  constructor(
    readonly mode: Mode,
    hostMemoryMiB = 16,
    pcpus = 2,
  ) {
    this.hv = new Hypervisor({ hostMemoryMiB, pcpus });
    this.victim = this.hv.createDomain({ mode, kernel: victimOf(mode), memoryMiB: 4, name: "victim" });
  }

  add(spec: Omit<DomainSpec, "mode"> & { mode?: Mode }): Domain {
    const d = this.hv.createDomain({ memoryMiB: GUEST_MIB, ...spec, mode: spec.mode ?? this.mode });
    this.mutable.push(d);
    return d;
  }

  /** Runs everything (after taking the "before" snapshot); the host must not throw. */
  run(maxInsns: number): void {
    this.snap = this.snapshot();
    const exit = this.hv.runSync({ maxInsns });
    // The victim never ends, so the run ends by the instruction limit or with every vCPU asleep.
    assert.ok(exit.kind === "limit" || exit.kind === "deadlock", `run ended with ${JSON.stringify(exit)}`);
  }

  /** The victim, every free frame and the allocator's books are as before; the host harts too. */
  assertIsolated(): void {
    const before = this.snap;
    assert.ok(before !== undefined, "run() first");
    const after = this.snapshot();
    const alloc = this.hv.allocator;
    for (const [i, b] of before.frames) {
      const owner = alloc.ownerOfIndex(i);
      // A free frame the shadow pool took since is the hypervisor's to change.
      if (b.owner === undefined && owner === HYPERVISOR) continue;
      assert.equal(owner, b.owner, `host frame index ${i} changed owner`);
      const a = after.frames.get(i);
      assert.equal(a?.digest, b.digest, `host frame index ${i} (owner ${String(b.owner)}) changed`);
    }
    assert.equal(after.victimHash, before.victimHash, "the victim's RAM changed");
    for (const d of [this.victim, ...this.mutable])
      assert.equal(
        alloc.countOf(d.id),
        before.counts.get(d.id),
        `${d.name} owns a different number of frames`,
      );
    let owned = 0;
    for (const n of alloc.ownerCounts().values()) owned += n;
    assert.equal(owned + alloc.freeCount, alloc.total, "every frame has exactly one owner");
    assert.deepEqual(after.harts, before.harts, "the host harts' M-mode state changed");
    // The victim sleeps where it went to sleep, still alive.
    assert.equal(this.victim.state, "running");
    const v = this.victim.vcpus[0];
    assert.ok(v.blocked && v.power === "started", "the victim is still asleep");
    assert.ok(v.pc >= CODE && v.pc < CODE + 0x40, `the victim's pc moved to 0x${v.pc.toString(16)}`);
    for (const d of this.mutable) if (d.alive) assertShadowsContained(this.hv, d);
    assertShadowsContained(this.hv, this.victim);
  }

  private snapshot(): Snapshot {
    const alloc = this.hv.allocator;
    const ram = this.hv.machine.ram;
    const mutable = new Set<Owner>(this.mutable.map((d) => d.id));
    const frames = new Map<number, { owner: Owner | undefined; digest: string }>();
    for (let i = 0; i < alloc.total; i++) {
      const owner = alloc.ownerOfIndex(i);
      if (owner === HYPERVISOR || (owner !== undefined && mutable.has(owner))) continue;
      const off = i * PAGE_SIZE;
      frames.set(i, {
        owner,
        digest: createHash("sha256")
          .update(ram.u8.subarray(off, off + PAGE_SIZE))
          .digest("hex"),
      });
    }
    return {
      frames,
      counts: alloc.ownerCounts(),
      victimHash: hashFrames(ram, this.victim.p2m.hostFrames()),
      harts: this.hv.machine.harts.map((h) => ({
        priv: h.priv,
        mtvec: h.mtvec,
        medeleg: h.medeleg,
        mideleg: h.mideleg,
        mie: h.mie,
        stvec: h.stvec,
        mscratch: h.mscratch,
        mcounteren: h.mcounteren,
        menvcfg: h.menvcfg,
        pmp: `${[...h.pmpcfg]}/${[...h.pmpaddr]}`,
      })),
    };
  }
}

/**
 * Walks the shadow tables a live domain's vCPUs use now (every privilege kind): tables are the
 * hypervisor's frames, every leaf maps a frame the domain owns, and (pv) no leaf maps a pinned table
 * writable.
 */
function assertShadowsContained(hv: Hypervisor, d: Domain): void {
  const alloc = hv.allocator;
  const i32 = hv.machine.ram.i32;
  const word = (frame: number, index: number): number =>
    i32[(hostPhysOf(frame as HostFrame, index * 4) - hv.machine.ram.base) >>> 2];
  for (const v of d.vcpus) {
    for (const kind of [0, 1, 2] as const) {
      const root = v.shadow.hostSatp(kind) & 0x3f_ffff;
      assert.equal(
        alloc.ownerOf(root as HostFrame),
        HYPERVISOR,
        `${d.name}: shadow root not the hypervisor's`,
      );
      for (let i = 0; i < 1024; i++) {
        const e = word(root, i);
        if ((e & V) === 0) continue;
        assert.equal(e & (R | W | X), 0, `${d.name}: a shadow root holds a leaf`);
        const l0 = e >>> 10;
        assert.equal(alloc.ownerOf(l0 as HostFrame), HYPERVISOR, `${d.name}: shadow L0 not the hypervisor's`);
        for (let j = 0; j < 1024; j++) {
          const leaf = word(l0, j);
          if ((leaf & V) === 0) continue;
          const hf = (leaf >>> 10) as HostFrame;
          assert.ok(alloc.owns(d.id, hf), `${d.name}: a shadow leaf maps host frame 0x${hf.toString(16)}`);
          const gfn = d.p2m.gfnOf(hf);
          if (d.pv !== undefined && gfn !== undefined && d.pv.pinned.has(gfn))
            assert.equal(leaf & W, 0, `${d.name}: pinned table 0x${gfn.toString(16)} is writable`);
        }
      }
    }
  }
}

/** Words the guest recorded at RESULTS. */
export function results(d: Domain, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(d.mem.read32(RESULTS + 4 * i) ?? Number.NaN);
  return out;
}

/** Recorded pairs, starting after `skip` words (the pv probe setup records two calls). */
export function pairs(d: Domain, n: number, skip = 0): [number, number][] {
  const w = results(d, skip + 2 * n).slice(skip);
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) out.push([w[2 * i], w[2 * i + 1] >>> 0]);
  return out;
}

/** Words the pv probe setup records first (REGISTER_SHARED and SET_TRAP_HANDLER answers). */
export const setupWords = (mode: Mode): number => (mode === "pv" ? 4 : 0);

export function assertSetupOk(d: Domain, mode: Mode): void {
  if (mode === "pv") assert.deepEqual(results(d, 4), [0, 0, 0, 0], "shared page and trap handler registered");
}

export function assertShutdownClean(d: Domain): void {
  assert.deepEqual(d.end, { state: "shutdown", code: 0, reason: "poweroff" }, `${d.name} did not power off`);
}

// ── hostile guests: what one is, and the probes they share ─────────────────────────────────────────────

export interface Hostile {
  name: string;
  modes: readonly Mode[];
  /** Builds the domain in the arena (after the victim). */
  build(arena: Arena): Domain;
  /** What the domain must have seen and how it must have ended. */
  check(d: Domain, arena: Arena): void;
}

export interface Access {
  addr: number;
  store: boolean;
  /** The fault cause it must take, or undefined: it must succeed. */
  cause: number | undefined;
}

/** Probes the accesses (loads with lw, stores of 0x5555 — the test device's "pass" code — with sw). */
export function probeAccesses(asm: Asm, list: readonly Access[]): void {
  for (const a of list) {
    asm.li(T1, a.addr).li(T2, 0x5555);
    asm.probe(
      a.store ? encode("sw", { rs1: T1, rs2: T2, imm: 0 }) : encode("lw", { rd: T2, rs1: T1, imm: 0 }),
    );
  }
}

export function assertAccesses(d: Domain, list: readonly Access[], skip: number): void {
  const got = pairs(d, list.length, skip);
  for (const [i, a] of list.entries()) {
    const what = `${a.store ? "store to" : "load from"} 0x${a.addr.toString(16)}`;
    if (a.cause === undefined) assert.deepEqual(got[i], [NO_FAULT, NO_FAULT], `${what} must succeed`);
    else assert.deepEqual(got[i], [a.cause, a.addr >>> 0], `${what} must fault with cause ${a.cause}`);
  }
}

export const both = (addr: number, cause: "access" | "page" | "ok"): Access[] => [
  {
    addr,
    store: false,
    cause: cause === "ok" ? undefined : cause === "access" ? CAUSE_LOAD_ACCESS : CAUSE_LOAD_PAGE,
  },
  {
    addr,
    store: true,
    cause: cause === "ok" ? undefined : cause === "access" ? CAUSE_STORE_ACCESS : CAUSE_STORE_PAGE,
  },
];

/** Runs one hostile guest beside the victim and checks both. */
export function runAlone(mode: Mode, h: Hostile, maxInsns = 2_000_000): Domain {
  const arena = new Arena(mode);
  const d = h.build(arena);
  arena.run(maxInsns);
  h.check(d, arena);
  arena.assertIsolated();
  return d;
}

/** A domain that ended or stays alive must have ended properly: crashes name the vCPU and the cause. */
export function assertEndedSanely(d: Domain): void {
  if (d.alive) return;
  assert.ok(d.end !== undefined);
  if (d.state === "crashed") {
    assert.equal(d.end.code, 1);
    assert.match(d.end.reason, /^vCPU \d+: trap (cause|interrupt) \d+ at /);
  } else assert.ok(d.end.reason === "poweroff" || d.end.reason === "reboot", d.end.reason);
}
