/**
 * The save image format: what is written reads back the same, and every way a file can be wrong — cut
 * short, a flipped byte anywhere, another version, not an image at all, sections that do not fit the
 * domain — is an ImageError that says what and where, raised before any state is handed out.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Hypervisor } from "../hypervisor.js";
import { kernelFor } from "../testing/kernel-domains.js";
import { saveDomain } from "./domain.js";
import { decodeDomainImage, encodeDomainImage } from "./domain-image.js";
import { ImageError } from "./fields.js";
import { decodeImage, encodeImage, IMAGE_VERSION, readImageFile, writeImageFile } from "./image.js";
import { memoryStateHash } from "./memory.js";
import type { DomainSaveState } from "./state.js";

const dir = mkdtempSync(join(tmpdir(), "rvisor-image-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A freshly built PV domain (kernel and device tree loaded, never run), saved. */
function sample(): { state: DomainSaveState; bytes: Buffer } {
  const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 16 });
  const d = hv.createDomain({ mode: "pv", kernel: kernelFor("pv"), name: "img", memoryMiB: 4 });
  const state = saveDomain(hv, d.id);
  return { state, bytes: Buffer.concat(encodeDomainImage(state, "rvisor test", { note: "kept" })) };
}

const { state, bytes } = sample();

/** `img` with its checksum made right again (to get past it to the checks behind it). */
function resealed(img: Buffer): Buffer {
  const out = Buffer.from(img);
  const end = out.length - 32;
  createHash("sha256").update(out.subarray(0, end)).digest().copy(out, end);
  return out;
}

function rejects(img: Uint8Array, message: RegExp): void {
  assert.throws(
    () => decodeDomainImage(img, "x.img"),
    (e) => e instanceof ImageError && message.test(e.message),
  );
}

/** A well-formed image whose sections are the given JSON values (or raw bodies). */
function imageOf(sections: Record<string, unknown>): Buffer {
  return Buffer.concat(
    encodeImage(
      Object.entries(sections).map(([name, v]) => ({
        name,
        body: v instanceof Uint8Array ? v : Buffer.from(JSON.stringify(v)),
      })),
      "test",
    ),
  );
}

const memoryBody = (s: DomainSaveState) => {
  const img = decodeImage(Buffer.concat(encodeDomainImage(s, "t")));
  return img.sections.get("memory") as Uint8Array;
};

describe("save images", () => {
  it("read back every component, the toolstack's record and the memory, with zero pages left out", () => {
    const back = decodeDomainImage(bytes);
    assert.deepEqual(back.state.domain, state.domain);
    assert.deepEqual(back.state.vcpus, state.vcpus);
    assert.deepEqual(back.state.devices, state.devices);
    assert.deepEqual(back.state.pv, state.pv);
    assert.deepEqual(back.toolstack, { note: "kept" });
    assert.equal(memoryStateHash(back.state.memory), memoryStateHash(state.memory));
    assert.equal(back.state.memory.pages.length, 1024);
    const data = back.state.memory.pages.filter((p) => p.data !== undefined).length;
    assert.ok(data < 100 && bytes.length < (data + 10) * 4096, `${data} data pages in ${bytes.length} bytes`);
    assert.equal(back.header.producer, "rvisor test");
    assert.equal(back.sha256, createHash("sha256").update(bytes.subarray(0, -32)).digest("hex"));
  });

  it("say a file that is not an image is not one, showing its first bytes", () => {
    rejects(
      readFileSync(kernelFor("pv")),
      /^x\.img is not an rvisor save image: bytes 0\.\.7 are 0x7f454c4601010100/,
    );
    rejects(
      Buffer.from('name = "vm"\n'),
      /^x\.img is not an rvisor save image: bytes 0\.\.7 are "name = \\"", not "RVISORSV"$/,
    );
    rejects(Buffer.alloc(0), /bytes 0\.\.7 are absent \(the file is empty\)/);
    rejects(bytes.subarray(0, 5), /is not an rvisor save image/);
  });

  it("say a truncated file is, wherever it was cut", () => {
    rejects(bytes.subarray(0, 30), /^x\.img is truncated: 30 bytes, less than the 56 of an empty image$/);
    for (const cut of [60, 200, bytes.length >> 1, bytes.length - 33, bytes.length - 1])
      rejects(
        bytes.subarray(0, cut),
        new RegExp(
          `^x\\.img is truncated: the image is ${bytes.length} bytes long \\(offset 16\\) but x\\.img ends at ${cut}$`,
        ),
      );
    rejects(
      Buffer.concat([bytes, Buffer.from("extra")]),
      /^x\.img has 5 bytes after the image's end at offset \d+/,
    );
  });

  it("find a flipped byte anywhere, saying what it hit", () => {
    const flip = (at: number) => {
      const b = Buffer.from(bytes);
      b[at] ^= 0x40;
      return b;
    };
    rejects(flip(3), /is not an rvisor save image/);
    rejects(flip(8), /save format version 65 \(offset 8\); this rvisor reads version 1/);
    rejects(flip(16), /is truncated|bytes after the image's end/);
    const sum = bytes.length - 32;
    for (const at of [12, 24, 100, bytes.length >> 1, sum - 1, sum, bytes.length - 1])
      rejects(
        flip(at),
        new RegExp(
          `^x\\.img is corrupted: the SHA-256 of bytes 0\\.\\.${sum - 1} is [0-9a-f]{64}, but the checksum at offset ${sum} is`,
        ),
      );
  });

  it("refuse another format version even with a right checksum", () => {
    const b = Buffer.from(bytes);
    b.writeUInt32LE(IMAGE_VERSION + 1, 8);
    rejects(resealed(b), /^x\.img: save format version 2 \(offset 8\); this rvisor reads version 1$/);
  });

  it("check every section's fields and the sections against each other", () => {
    const j = JSON.parse(
      JSON.stringify({ domain: state.domain, vcpus: state.vcpus, devices: state.devices, pv: state.pv }),
    );
    const mem = memoryBody(state);
    const base = () => JSON.parse(JSON.stringify(j));
    const with_ = (edit: (s: ReturnType<typeof base>) => void, extra: Record<string, unknown> = {}) => {
      const s = base();
      edit(s);
      return imageOf({ ...s, memory: mem, ...extra });
    };
    rejects(
      with_((s) => (s.vcpus[0].pc = -4)),
      /^x\.img: section vcpus: \[0\]\.pc: -4 is not an integer in 0\.\.4294967295$/,
    );
    rejects(
      with_((s) => s.vcpus[0].regs.pop()),
      /section vcpus: \[0\]\.regs: 31 registers, want 32/,
    );
    rejects(
      with_((s) => (s.vcpus[0].power = "on")),
      /section vcpus: \[0\]\.power: "on" is not one of "started", "stopped"/,
    );
    rejects(
      with_((s) => (s.domain.vcpus = 2)),
      /section vcpus: 1 vCPUs, but section domain says 2/,
    );
    rejects(
      with_((s) => (s.domain.mode = "hvm")),
      /section pv is there, but the domain's mode is hvm/,
    );
    rejects(
      with_((s) => delete s.domain.guestTime),
      /section domain: guestTime: missing/,
    );
    rejects(
      with_((s) => s.devices.plic.threshold.push(0)),
      /section devices: plic\.threshold: 3 entries, want 2/,
    );
    rejects(
      with_((s) => (s.devices.uart.lcr = "x")),
      /section devices: uart\.lcr: "x" is not an integer/,
    );
    rejects(
      with_((s) => (s.pv.pinned = [[5, 1]])),
      /section pv: pinned\[0\]: gfn 0x5 is not the domain's RAM/,
    );
    rejects(
      with_((s) => (s.vcpus[0].pv.sharedGpa = 0x8000_0010)),
      /\[0\]\.pv\.sharedGpa 0x80000010 is not a page/,
    );
    rejects(
      with_(() => {}, { extra: {} }),
      /section extra \(offset \d+\) is not one this rvisor knows/,
    );
    rejects(
      imageOf({ ...base(), memory: mem.subarray(0, 8 + 4096 + 3) }),
      /section memory: the record at offset \d+: its page is cut short/,
    );
    const outside = Buffer.from(mem.subarray(0, 8));
    outside.writeUInt32LE(0x1000, 0);
    rejects(
      imageOf({ ...base(), memory: outside }),
      /section memory: the record at offset \d+: gfn 0x1000 is outside the domain's RAM \(0x80000\.\.0x803ff\)/,
    );
    rejects(imageOf(base()), /section memory is missing/);
    const fine = imageOf({ ...base(), memory: mem });
    rejects(
      imageOf({ domain: new Uint8Array([0x7b]), vcpus: j.vcpus, devices: j.devices, pv: j.pv, memory: mem }),
      /section domain \(offset 24\+?\d*\) is not JSON/,
    );
    assert.equal(decodeDomainImage(fine).state.vcpus.length, 1, "unedited, the same sections read fine");
  });

  it("are written whole or not at all under their name", () => {
    const path = join(dir, "dom.img");
    writeFileSync(path, "the old one");
    writeImageFile(path, encodeDomainImage(state, "t"));
    assert.deepEqual(readdirSync(dir), ["dom.img"], "no temporary file is left");
    assert.equal(decodeDomainImage(readImageFile(path), path).state.domain.name, "img");
    assert.throws(() => writeImageFile(join(dir, "no-such-dir", "x.img"), [bytes]), /ENOENT/);
    assert.deepEqual(readdirSync(dir), ["dom.img"]);
    assert.throws(
      () => readImageFile(join(dir, "missing.img")),
      (e) => e instanceof ImageError && /missing\.img: cannot read the save image: ENOENT/.test(e.message),
    );
  });
});
