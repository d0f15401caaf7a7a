import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe as suite, test } from "node:test";
import fc from "fast-check";
import { describe, ElfError, type ElfImage, loadElf, parseElf, readElfFile } from "./elf.js";
import { Ram } from "./ram.js";

// ---- A little ELF32 writer, so every test states the exact image it feeds the loader. ----

interface SegmentSpec {
  paddr: number;
  vaddr?: number;
  data: number[];
  memsz?: number;
  flags?: number;
  type?: number; // p_type, PT_LOAD (1) unless given
}
interface SymbolSpec {
  name: string;
  value: number;
  bind?: number; // STB_LOCAL 0, STB_GLOBAL 1
  shndx?: number; // 0 is SHN_UNDEF; defaults to 1
}
interface ElfSpec {
  entry: number;
  segments: SegmentSpec[];
  symbols?: SymbolSpec[]; // omitted: no section headers at all
}

const PHDR = 52;
const align4 = (n: number): number => (n + 3) & ~3;

/**
 * Lays out: ELF header | program headers | segment data | .strtab | .symtab | section headers
 * (null, .symtab, .strtab).
 */
function buildElf(spec: ElfSpec): Uint8Array {
  let at = PHDR + 32 * spec.segments.length;
  const dataOffsets = spec.segments.map((s) => {
    const off = at;
    at = align4(at + s.data.length);
    return off;
  });
  const syms = spec.symbols;
  const names: number[] = [0];
  const nameOffsets = (syms ?? []).map((s) => {
    const off = names.length;
    names.push(...Buffer.from(s.name, "utf8"), 0);
    return off;
  });
  const strOff = at;
  const symOff = align4(strOff + names.length);
  const symSize = 16 * ((syms?.length ?? 0) + 1);
  const shOff = syms ? symOff + symSize : 0;
  const total = syms ? shOff + 3 * 40 : at;

  const bytes = new Uint8Array(total);
  const v = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 243, true); // EM_RISCV
  v.setUint32(20, 1, true);
  v.setUint32(24, spec.entry, true);
  v.setUint32(28, PHDR, true);
  v.setUint32(32, shOff, true);
  v.setUint32(36, 0x1, true); // EF_RISCV_RVC, soft float
  v.setUint16(40, 52, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, spec.segments.length, true);
  v.setUint16(46, 40, true);
  v.setUint16(48, syms ? 3 : 0, true);
  spec.segments.forEach((s, i) => {
    const ph = PHDR + 32 * i;
    v.setUint32(ph, s.type ?? 1, true);
    v.setUint32(ph + 4, dataOffsets[i], true);
    v.setUint32(ph + 8, s.vaddr ?? s.paddr, true);
    v.setUint32(ph + 12, s.paddr, true);
    v.setUint32(ph + 16, s.data.length, true);
    v.setUint32(ph + 20, s.memsz ?? s.data.length, true);
    v.setUint32(ph + 24, s.flags ?? 5, true);
    v.setUint32(ph + 28, 4, true);
    bytes.set(s.data, dataOffsets[i]);
  });
  if (syms) {
    bytes.set(names, strOff);
    syms.forEach((s, i) => {
      const st = symOff + 16 * (i + 1);
      v.setUint32(st, nameOffsets[i], true);
      v.setUint32(st + 4, s.value >>> 0, true);
      bytes[st + 12] = (s.bind ?? 1) << 4; // STT_NOTYPE
      v.setUint16(st + 14, s.shndx ?? 1, true);
    });
    const sh = (i: number, type: number, off: number, size: number, link: number) => {
      const base = shOff + 40 * i;
      v.setUint32(base + 4, type, true);
      v.setUint32(base + 16, off, true);
      v.setUint32(base + 20, size, true);
      v.setUint32(base + 24, link, true);
      v.setUint32(base + 36, type === 2 ? 16 : 0, true);
    };
    sh(1, 2, symOff, symSize, 2); // .symtab, strings in section 2
    sh(2, 3, strOff, names.length, 0); // .strtab
  }
  return bytes;
}

/** Returns a copy of `bytes` with a little-endian field of `size` bytes at `offset` set to `value`. */
function patch(bytes: Uint8Array, offset: number, size: 1 | 2 | 4, value: number): Uint8Array {
  const copy = bytes.slice();
  const v = new DataView(copy.buffer);
  if (size === 1) v.setUint8(offset, value);
  else if (size === 2) v.setUint16(offset, value, true);
  else v.setUint32(offset, value, true);
  return copy;
}

const RAM_BASE = 0x8000_0000;
const TEXT = [0x97, 0x02, 0x00, 0x00, 0x73, 0x00, 0x10, 0x00]; // auipc t0,0; ebreak
const DATA = [1, 2, 3, 4, 5, 6];

/** Text at RAM_BASE; data at RAM_BASE+0x1000 with 0x2000-6 bytes of bss; three symbols. */
const validSpec = (): ElfSpec => ({
  entry: RAM_BASE,
  segments: [
    { paddr: RAM_BASE, data: TEXT, flags: 5 },
    { paddr: RAM_BASE + 0x1000, data: DATA, memsz: 0x2000, flags: 6 },
  ],
  symbols: [
    { name: "_start", value: RAM_BASE },
    { name: "tohost", value: RAM_BASE + 0x1008 },
    { name: "high", value: 0xffff_fff0 },
  ],
});
const valid = (): Uint8Array => buildElf(validSpec());

/** Asserts `f` throws an ElfError whose message names the source and matches every pattern. */
function throwsElf(f: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof ElfError, `expected ElfError, got ${e}`);
    assert.match(e.message, /^prog\.elf: /);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}
const parse = (bytes: Uint8Array): ElfImage => parseElf(bytes, "prog.elf");

suite("parseElf on a valid image", () => {
  test("reads the entry point, every PT_LOAD segment and the symbols", () => {
    const image = parse(valid());
    assert.equal(image.entry, RAM_BASE);
    assert.equal(image.source, "prog.elf");
    assert.equal(image.segments.length, 2);
    assert.deepEqual(image.segments[0], {
      paddr: RAM_BASE,
      vaddr: RAM_BASE,
      data: Uint8Array.from(TEXT),
      memsz: TEXT.length,
      flags: 5,
    });
    assert.equal(image.segments[1].memsz, 0x2000);
    assert.deepEqual([...image.segments[1].data], DATA);
    assert.deepEqual(
      [...image.symbols],
      [
        ["_start", RAM_BASE],
        ["tohost", RAM_BASE + 0x1008],
        ["high", 0xffff_fff0],
      ],
    );
  });

  test("symbol values are unsigned, undefined symbols are skipped and a global wins over a local", () => {
    const spec = validSpec();
    spec.symbols = [
      { name: "dup", value: 1, bind: 0 },
      { name: "dup", value: 2, bind: 1 },
      { name: "dup", value: 3, bind: 1 },
      { name: "extern", value: 0, shndx: 0 },
      { name: "neg", value: -4 },
    ];
    const image = parse(buildElf(spec));
    assert.equal(image.symbols.get("dup"), 2);
    assert.equal(image.symbols.has("extern"), false);
    assert.equal(image.symbols.get("neg"), 0xffff_fffc);
  });

  test("an image without section headers parses with no symbols", () => {
    const spec = validSpec();
    delete spec.symbols;
    const image = parse(buildElf(spec));
    assert.equal(image.symbols.size, 0);
    assert.equal(image.segments.length, 2);
  });

  test("program headers other than PT_LOAD are ignored", () => {
    const spec = validSpec();
    spec.segments.push({ paddr: RAM_BASE, data: [9, 9], type: 4 /* PT_NOTE, overlapping text */ });
    assert.equal(parse(buildElf(spec)).segments.length, 2);
  });

  test("describe names the entry and each segment's range and permissions", () => {
    const text = describe(parse(valid()));
    assert.match(text, /^prog\.elf: entry 0x80000000, 2 segment\(s\), 3 symbol\(s\)/);
    assert.match(text, /0x80000000\.\.0x80000008 r-x 0x8 from file, 0x0 zeroed/);
    assert.match(text, /0x80001000\.\.0x80003000 rw- 0x6 from file, 0x1ffa zeroed/);
  });
});

suite("loadElf", () => {
  test("copies segments to their p_paddr and zero-fills memsz beyond filesz", () => {
    const ram = new Ram(RAM_BASE, 0x10000);
    ram.u8.fill(0xa5); // stale contents the bss must not keep
    loadElf(parse(valid()), ram);
    assert.deepEqual([...ram.u8.subarray(0, TEXT.length)], TEXT);
    assert.deepEqual([...ram.u8.subarray(0x1000, 0x1006)], DATA);
    assert.ok(ram.u8.subarray(0x1006, 0x3000).every((b) => b === 0));
    assert.equal(ram.u8[0x3000], 0xa5, "the byte after the segment is untouched");
    assert.equal(ram.u8[TEXT.length], 0xa5, "the byte after the text is untouched");
    assert.deepEqual(
      [0, 1, 2, 3].map((f) => ram.isDirty(f)),
      [true, true, true, false],
    );
  });

  test("loads by physical address when p_vaddr differs", () => {
    const spec = validSpec();
    spec.segments = [{ paddr: RAM_BASE + 0x200, vaddr: 0xc000_0000, data: TEXT }];
    const ram = new Ram(RAM_BASE, 0x10000);
    loadElf(parse(buildElf(spec)), ram);
    assert.deepEqual([...ram.u8.subarray(0x200, 0x200 + TEXT.length)], TEXT);
  });

  test("a segment outside RAM is an ElfError naming it, and RAM stays untouched", () => {
    const spec = validSpec();
    spec.segments[1].memsz = 0x10000; // 0x80001000..0x80011000 passes the end of 64 KiB RAM
    const ram = new Ram(RAM_BASE, 0x10000);
    throwsElf(
      () => loadElf(parse(buildElf(spec)), ram),
      /segment 1 \(paddr 0x80001000\.\.0x80011000\) does not fit in RAM 0x80000000\.\.0x80010000/,
    );
    assert.ok(ram.u8.every((b) => b === 0));
    assert.equal(ram.isDirty(0), false);
  });

  test("a segment below RAM is an ElfError", () => {
    const spec = validSpec();
    spec.segments[0].paddr = 0x1000;
    throwsElf(
      () => loadElf(parse(buildElf(spec)), new Ram(RAM_BASE, 0x10000)),
      /segment 0 .*0x1000\.\.0x1008/,
    );
  });
});

suite("parseElf errors say what is wrong and where", () => {
  test("bad magic", () => {
    throwsElf(
      () => parse(new TextEncoder().encode("#!/bin/sh\n")),
      /not an ELF file: bad magic at offset 0/,
      /23 21 2f 62/,
    );
    throwsElf(() => parse(new Uint8Array(0)), /bad magic .*found nothing/);
  });

  test("a 64-bit ELF", () => {
    throwsElf(
      () => parse(patch(valid(), 4, 1, 2)),
      /is a 64-bit ELF .*offset 4.*; rvisor runs RV32 programs/,
    );
  });

  test("an invalid class, data encoding or ident version", () => {
    throwsElf(() => parse(patch(valid(), 4, 1, 7)), /EI_CLASS \(offset 4\) is 7/);
    throwsElf(() => parse(patch(valid(), 5, 1, 0)), /EI_DATA \(offset 5\) is 0/);
    throwsElf(() => parse(patch(valid(), 6, 1, 0)), /EI_VERSION \(offset 6\) is 0/);
  });

  test("a big-endian ELF", () => {
    throwsElf(() => parse(patch(valid(), 5, 1, 2)), /big-endian/, /offset 5/);
  });

  test("another machine, named when common", () => {
    throwsElf(
      () => parse(patch(valid(), 18, 2, 62)),
      /e_machine \(offset 0x12\) is 62 \(x86-64\), not EM_RISCV/,
    );
    throwsElf(() => parse(patch(valid(), 18, 2, 183)), /is 183 \(AArch64\)/);
    throwsElf(() => parse(patch(valid(), 18, 2, 4242)), /is 4242, not EM_RISCV/);
  });

  test("not ET_EXEC asks for a statically linked executable", () => {
    throwsElf(() => parse(patch(valid(), 16, 2, 3)), /ET_DYN/, /statically linked executable/);
    throwsElf(() => parse(patch(valid(), 16, 2, 1)), /relocatable .*ET_REL/, /statically linked executable/);
    throwsElf(() => parse(patch(valid(), 16, 2, 4)), /ET_CORE/);
    throwsElf(() => parse(patch(valid(), 16, 2, 9)), /e_type \(offset 0x10\) is 9/);
  });

  test("e_version other than EV_CURRENT", () => {
    throwsElf(() => parse(patch(valid(), 20, 4, 0)), /e_version \(offset 0x14\) is 0/);
  });

  test("RVE and hard-float ABIs in e_flags", () => {
    throwsElf(() => parse(patch(valid(), 36, 4, 0x9)), /e_flags \(offset 0x24\) is 0x9: EF_RISCV_RVE/);
    throwsElf(() => parse(patch(valid(), 36, 4, 0x3)), /ilp32f; rvisor has no F\/D extension/);
    throwsElf(() => parse(patch(valid(), 36, 4, 0x5)), /ilp32d; rvisor has no F\/D extension/);
  });

  test("a truncated ELF header", () => {
    throwsElf(
      () => parse(valid().subarray(0, 10)),
      /truncated: e_ident at offset 0x0\.\.0x10 .*\(10 bytes\)/,
    );
    throwsElf(
      () => parse(valid().subarray(0, 40)),
      /truncated: the ELF header at offset 0x0\.\.0x34 .*\(40 bytes\)/,
    );
  });

  test("a truncated program header table", () => {
    throwsElf(
      () => parse(valid().subarray(0, 70)),
      /truncated: the program header table \(e_phoff 0x34, 2 entries\)/,
    );
  });

  test("truncated segment data", () => {
    const bytes = valid();
    const dataOffset = new DataView(bytes.buffer).getUint32(PHDR + 32 + 4, true);
    throwsElf(
      () => parse(bytes.subarray(0, dataOffset + 3)),
      /truncated: the data of program header 1 \(PT_LOAD at offset 0x54\) \(p_offset 0x7c, p_filesz 0x6\) at offset 0x7c\.\.0x82 .*\(127 bytes\)/,
    );
  });

  test("a truncated section header table, symbol table or string table", () => {
    const bytes = valid();
    throwsElf(() => parse(bytes.subarray(0, bytes.length - 1)), /truncated: the section header table/);
    const shoff = new DataView(bytes.buffer).getUint32(32, true);
    throwsElf(
      () => parse(patch(bytes, shoff + 40 + 20, 4, 0x1000)),
      /truncated: the symbols of section 1 \(SHT_SYMTAB\)/,
    );
    throwsElf(
      () => parse(patch(bytes, shoff + 80 + 20, 4, 0x1000)),
      /truncated: the string table, section 2/,
    );
    throwsElf(() => parse(patch(bytes, shoff + 40 + 24, 4, 9)), /sh_link 9 names no section/);
  });

  test("a symbol name outside its string table", () => {
    const bytes = valid();
    const symoff = new DataView(bytes.buffer).getUint32(
      new DataView(bytes.buffer).getUint32(32, true) + 56,
      true,
    );
    throwsElf(
      () => parse(patch(bytes, symoff + 16, 4, 0x500)),
      /symbol 1 .*st_name 0x500 is not a terminated string/,
    );
  });

  test("a program or section header size that is not ELF32's", () => {
    throwsElf(() => parse(patch(valid(), 42, 2, 56)), /e_phentsize \(offset 0x2a\) is 56, .* 32 bytes/);
    throwsElf(() => parse(patch(valid(), 46, 2, 64)), /e_shentsize \(offset 0x2e\) is 64, .* 40 bytes/);
  });

  test("no PT_LOAD segments", () => {
    throwsElf(
      () => parse(patch(valid(), 44, 2, 0)),
      /no non-empty PT_LOAD segments among its 0 program headers/,
    );
    const spec = validSpec();
    for (const s of spec.segments) s.type = 4;
    throwsElf(() => parse(buildElf(spec)), /no non-empty PT_LOAD segments among its 2 program headers/);
    const empty = validSpec();
    empty.segments = [{ paddr: 0, data: [], memsz: 0 }];
    throwsElf(() => parse(buildElf(empty)), /no non-empty PT_LOAD segments among its 1 program headers/);
  });

  test("overlapping PT_LOAD segments", () => {
    const spec = validSpec();
    spec.segments[1].paddr = RAM_BASE + 4;
    throwsElf(
      () => parse(buildElf(spec)),
      /overlap: program header 0 \(paddr 0x80000000\.\.0x80000008\) and program header 1 \(paddr 0x80000004\.\.0x80002004\)/,
    );
  });

  test("p_filesz larger than p_memsz, or a segment past 4 GiB", () => {
    throwsElf(
      () => parse(patch(valid(), PHDR + 20, 4, 4)),
      /program header 0 .*p_filesz 0x8 is larger than p_memsz 0x4/,
    );
    throwsElf(
      () => parse(patch(valid(), PHDR + 12, 4, 0xffff_fffc)),
      /p_paddr 0xfffffffc \+ p_memsz 0x8 passes 4 GiB/,
    );
  });
});

suite("readElfFile", () => {
  test("reads an image from disk, and a missing file is an ElfError naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "rvisor-elf-"));
    try {
      const path = join(dir, "prog.elf");
      writeFileSync(path, valid());
      const image = readElfFile(path);
      assert.equal(image.source, path);
      assert.equal(image.symbols.get("tohost"), RAM_BASE + 0x1008);
      const missing = join(dir, "missing.elf");
      assert.throws(
        () => readElfFile(missing),
        (e: unknown) => e instanceof ElfError && e.message.startsWith(`${missing}: cannot read`),
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

suite("damaged images", () => {
  test("random truncations and byte changes only ever raise ElfError, and RAM outside segments is untouched", () => {
    const good = valid();
    const headerEnd = PHDR + 64;
    const damage = fc.oneof(
      fc.nat({ max: good.length - 1 }).map((n) => ({ cut: n, flips: [] as [number, number][] })),
      fc
        .array(
          fc.tuple(
            fc.oneof(fc.nat({ max: headerEnd - 1 }), fc.nat({ max: good.length - 1 })),
            fc.nat({ max: 255 }),
          ),
          {
            minLength: 1,
            maxLength: 6,
          },
        )
        .map((flips) => ({ cut: good.length, flips })),
    );
    const CANARY = 0xa5;
    fc.assert(
      fc.property(damage, ({ cut, flips }) => {
        const bytes = good.slice(0, cut);
        for (const [at, value] of flips) bytes[at] = value;
        const ram = new Ram(RAM_BASE, 0x10000);
        ram.u8.fill(CANARY);
        let image: ElfImage;
        try {
          image = parse(bytes);
          loadElf(image, ram);
        } catch (e) {
          assert.ok(e instanceof ElfError, `threw ${e}`);
          assert.ok(
            ram.u8.every((b) => b === CANARY),
            "a failed load wrote to RAM",
          );
          return;
        }
        // Success: every byte outside the segments keeps the canary; inside, file data then zeros.
        const expected = new Uint8Array(ram.size).fill(CANARY);
        for (const s of image.segments) {
          if (s.memsz === 0) continue;
          assert.ok(ram.contains(s.paddr, s.memsz));
          const off = s.paddr - RAM_BASE;
          expected.fill(0, off + s.data.length, off + s.memsz);
          expected.set(s.data, off);
        }
        assert.deepEqual(ram.u8, expected);
      }),
      { numRuns: 500 },
    );
  });
});

const hasClang = (() => {
  try {
    execFileSync("sh", ["-c", "command -v clang"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

suite("images built by clang", { skip: hasClang ? false : "clang is not installed" }, () => {
  const PROGRAM =
    "volatile unsigned tohost;\nunsigned counter = 7;\n" +
    "void _start(void) { tohost = counter * 2 + 1; for (;;) {} }\n";

  /** Compiles PROGRAM for RV32IMAC with text at RAM_BASE and returns the parsed image. */
  function compile(...extraFlags: string[]): ElfImage {
    const dir = mkdtempSync(join(tmpdir(), "rvisor-elf-clang-"));
    try {
      const [src, out] = [join(dir, "prog.c"), join(dir, "prog.elf")];
      writeFileSync(src, PROGRAM);
      execFileSync("clang", [
        "--target=riscv32-unknown-elf",
        "-march=rv32imac",
        "-mabi=ilp32",
        "-O1",
        "-nostdlib",
        "-fuse-ld=lld",
        "-Wl,-Ttext=0x80000000",
        ...extraFlags,
        "-o",
        out,
        src,
      ]);
      return readElfFile(out);
    } finally {
      rmSync(dir, { recursive: true });
    }
  }

  test("parse with the linker's entry point and symbols", () => {
    const image = compile();
    assert.equal(image.entry, 0x8000_0000);
    assert.equal(image.symbols.get("_start"), 0x8000_0000);
    const tohost = image.symbols.get("tohost");
    const counter = image.symbols.get("counter");
    assert.ok(tohost !== undefined && counter !== undefined, "tohost and counter are in .symtab");
    const within = (addr: number) => image.segments.some((s) => addr >= s.paddr && addr < s.paddr + s.memsz);
    assert.ok(within(tohost) && within(counter), describe(image));
  });

  test("load with initialised data where the symbols say it is", () => {
    // -N keeps the ELF headers out of the loaded segments; without it lld 14 also loads them at 0x10000,
    // outside RAM, which loadElf refuses.
    const image = compile("-Wl,-N");
    const ram = new Ram(RAM_BASE, 0x10_0000);
    loadElf(image, ram);
    assert.equal(ram.u8[image.symbols.get("counter")! - RAM_BASE], 7);
    assert.equal(ram.u8[image.symbols.get("tohost")! - RAM_BASE], 0);
  });
});
