/**
 * The ELF32 loader: turns a statically linked RV32 executable into segments, an entry point and a
 * symbol table, and copies the segments into RAM.
 *
 * Segments load at their PT_LOAD p_paddr, as QEMU does for `-bios`/`-kernel` ELFs, so one image lands
 * at the same physical addresses on both machines. The symbol table matters as much as the segments:
 * `tohost` (HTIF, see docs/architecture.md) and test labels are found through it.
 *
 * Every check says which file, which field and which offset is wrong, because the usual cause is a
 * guest built with the wrong flags (64-bit, PIE, hard float) and the message is the whole diagnosis.
 * Parsing never reads outside `bytes` and never throws anything but ElfError; loadElf checks every
 * segment against RAM before writing any byte, so a bad image leaves RAM untouched.
 *
 * ELF32 header (52 bytes, little-endian, offsets in bytes):
 *
 *    0 e_ident: 7f 'E' 'L' 'F' | 4 EI_CLASS | 5 EI_DATA | 6 EI_VERSION | 7..15 OS ABI, padding
 *   16 e_type    18 e_machine  20 e_version  24 e_entry   28 e_phoff  32 e_shoff
 *   36 e_flags   40 e_ehsize   42 e_phentsize 44 e_phnum  46 e_shentsize 48 e_shnum 50 e_shstrndx
 *
 * Program header (32 bytes):  0 p_type  4 p_offset  8 p_vaddr  12 p_paddr  16 p_filesz  20 p_memsz
 *                            24 p_flags 28 p_align
 * Section header (40 bytes):  0 sh_name 4 sh_type 8 sh_flags 12 sh_addr 16 sh_offset 20 sh_size
 *                            24 sh_link 28 sh_info 32 sh_addralign 36 sh_entsize
 * Symbol (16 bytes):          0 st_name 4 st_value 8 st_size 12 st_info 13 st_other 14 st_shndx
 *
 * RISC-V e_flags (psABI):
 *
 *    31            5    4     3    2   1    0
 *   ┌─────────────┬────┬─────┬────────┬─────┐
 *   │  reserved   │TSO │ RVE │ FLOAT  │ RVC │   FLOAT_ABI: 0 soft (ilp32), 1 single (ilp32f),
 *   └─────────────┴────┴─────┴────────┴─────┘              2 double (ilp32d), 3 quad
 */
import { readFileSync } from "node:fs";
import { PAGE_SIZE } from "./params.js";
import type { Ram } from "./ram.js";

export class ElfError extends Error {
  override readonly name = "ElfError";
}

export interface ElfSegment {
  paddr: number;
  vaddr: number;
  /** The p_filesz bytes from the file; the rest up to memsz is zero-filled on load. */
  data: Uint8Array;
  memsz: number;
  /** p_flags: PF_X = 1, PF_W = 2, PF_R = 4. */
  flags: number;
}

export interface ElfImage {
  entry: number;
  segments: ElfSegment[];
  /** Named symbols of .symtab, name → st_value (unsigned); a global definition wins over a local one. */
  symbols: Map<string, number>;
  source: string;
}

const EHDR_SIZE = 52;
const PHDR_SIZE = 32;
const SHDR_SIZE = 40;
const SYM_SIZE = 16;

const ELFCLASS32 = 1;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const ELFDATA2MSB = 2;
const EV_CURRENT = 1;

const ET_REL = 1;
const ET_EXEC = 2;
const ET_DYN = 3;
const ET_CORE = 4;

const EM_RISCV = 243;
/** Names of machines a wrong build most often produces, for the e_machine message. */
const MACHINE_NAMES: Record<number, string> = {
  2: "SPARC",
  3: "x86 (i386)",
  8: "MIPS",
  20: "PowerPC",
  21: "PowerPC64",
  22: "S/390",
  40: "ARM (AArch32)",
  43: "SPARC V9",
  62: "x86-64",
  183: "AArch64",
  258: "LoongArch",
};

const PT_LOAD = 1;
const PN_XNUM = 0xffff;
const SHT_SYMTAB = 2;
const SHN_UNDEF = 0;
const STB_LOCAL = 0;
const STT_SECTION = 3;
const STT_FILE = 4;

const EF_RISCV_FLOAT_ABI = 0x6;
const EF_RISCV_RVE = 0x8;
const FLOAT_ABI_NAMES = ["ilp32", "ilp32f", "ilp32d", "ilp32q"];

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Parses an ELF32 RISC-V executable. `source` names the file in error messages. */
export function parseElf(bytes: Uint8Array, source = "<buffer>"): ElfImage {
  const fail = (what: string): never => {
    throw new ElfError(`${source}: ${what}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = bytes.length;
  /** Fails unless [offset, offset+len) lies in the file; `what` names the structure for the message. */
  const need = (offset: number, len: number, what: string): void => {
    if (offset + len > size) {
      fail(
        `truncated: ${what} at offset ${hex(offset)}..${hex(offset + len)} is past the end of the file (${size} bytes)`,
      );
    }
  };

  checkIdent(bytes, need, fail);
  need(0, EHDR_SIZE, "the ELF header");
  const u16 = (off: number): number => view.getUint16(off, true);
  const u32 = (off: number): number => view.getUint32(off, true);

  const type = u16(16);
  if (type !== ET_EXEC) fail(describeType(type));
  const machine = u16(18);
  if (machine !== EM_RISCV) {
    const name = MACHINE_NAMES[machine];
    fail(
      `e_machine (offset 0x12) is ${machine}${name ? ` (${name})` : ""}, not EM_RISCV (243); ` +
        "rvisor runs RISC-V programs",
    );
  }
  const version = u32(20);
  if (version !== EV_CURRENT) fail(`e_version (offset 0x14) is ${version}, expected EV_CURRENT (1)`);
  checkFlags(u32(36), fail);

  const entry = u32(24);
  const segments = readSegments(bytes, u32(28), u16(42), u16(44), need, fail);
  const symbols = readSymbols(bytes, u32(32), u16(46), u16(48), need, fail);
  return { entry, segments, symbols, source };
}

function checkIdent(bytes: Uint8Array, need: Need, fail: (what: string) => never): void {
  const magic = [0x7f, 0x45, 0x4c, 0x46];
  if (bytes.length < 4 || magic.some((b, i) => bytes[i] !== b)) {
    const found = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
    fail(
      `not an ELF file: bad magic at offset 0 (found ${found || "nothing"}, expected 7f 45 4c 46 "\\x7fELF")`,
    );
  }
  need(0, 16, "e_ident");
  const cls = bytes[4];
  if (cls === ELFCLASS64)
    fail("is a 64-bit ELF (EI_CLASS at offset 4 is ELFCLASS64); rvisor runs RV32 programs");
  if (cls !== ELFCLASS32) fail(`EI_CLASS (offset 4) is ${cls}, neither ELFCLASS32 (1) nor ELFCLASS64 (2)`);
  const data = bytes[5];
  if (data === ELFDATA2MSB) {
    fail("is a big-endian ELF (EI_DATA at offset 5 is ELFDATA2MSB); RISC-V programs are little-endian");
  }
  if (data !== ELFDATA2LSB)
    fail(`EI_DATA (offset 5) is ${data}, neither ELFDATA2LSB (1) nor ELFDATA2MSB (2)`);
  if (bytes[6] !== EV_CURRENT) fail(`EI_VERSION (offset 6) is ${bytes[6]}, expected EV_CURRENT (1)`);
}

function describeType(type: number): string {
  const where = `e_type (offset 0x10) is ${type}`;
  const remedy = "rvisor needs a statically linked executable (ET_EXEC)";
  switch (type) {
    case ET_DYN:
      return `is a shared object or position-independent executable (${where}, ET_DYN); ${remedy}: link with -static -no-pie`;
    case ET_REL:
      return `is a relocatable object file (${where}, ET_REL); ${remedy}: link it first`;
    case ET_CORE:
      return `is a core dump (${where}, ET_CORE); ${remedy}`;
    default:
      return `${where}, not ET_EXEC (2); ${remedy}`;
  }
}

function checkFlags(flags: number, fail: (what: string) => never): void {
  if (flags & EF_RISCV_RVE) {
    fail(
      `e_flags (offset 0x24) is ${hex(flags)}: EF_RISCV_RVE is set (RV32E, 16 registers, ilp32e ABI); ` +
        "rvisor runs RV32I programs: build with -march=rv32imac -mabi=ilp32",
    );
  }
  const abi = (flags & EF_RISCV_FLOAT_ABI) >>> 1;
  if (abi !== 0) {
    fail(
      `e_flags (offset 0x24) is ${hex(flags)}: float ABI ${FLOAT_ABI_NAMES[abi]}; rvisor has no F/D extension: ` +
        "build with -march=rv32imac -mabi=ilp32",
    );
  }
}

type Need = (offset: number, len: number, what: string) => void;

function readSegments(
  bytes: Uint8Array,
  phoff: number,
  phentsize: number,
  phnum: number,
  need: Need,
  fail: (what: string) => never,
): ElfSegment[] {
  if (phnum === PN_XNUM)
    fail("e_phnum (offset 0x2c) is PN_XNUM (extended numbering), which rvisor does not read");
  if (phnum > 0 && phentsize !== PHDR_SIZE) {
    fail(`e_phentsize (offset 0x2a) is ${phentsize}, but an ELF32 program header is ${PHDR_SIZE} bytes`);
  }
  need(phoff, phnum * PHDR_SIZE, `the program header table (e_phoff ${hex(phoff)}, ${phnum} entries)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const segments: ElfSegment[] = [];
  const indices: number[] = [];
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * PHDR_SIZE;
    const u32 = (field: number): number => view.getUint32(ph + field, true);
    if (u32(0) !== PT_LOAD) continue;
    const [offset, vaddr, paddr, filesz, memsz, flags] = [u32(4), u32(8), u32(12), u32(16), u32(20), u32(24)];
    const name = `program header ${i} (PT_LOAD at offset ${hex(ph)})`;
    if (filesz > memsz) fail(`${name}: p_filesz ${hex(filesz)} is larger than p_memsz ${hex(memsz)}`);
    if (paddr + memsz > 2 ** 32) fail(`${name}: p_paddr ${hex(paddr)} + p_memsz ${hex(memsz)} passes 4 GiB`);
    need(offset, filesz, `the data of ${name} (p_offset ${hex(offset)}, p_filesz ${hex(filesz)})`);
    segments.push({ paddr, vaddr, data: bytes.slice(offset, offset + filesz), memsz, flags });
    indices.push(i);
  }
  if (segments.every((s) => s.memsz === 0)) {
    fail(`has no non-empty PT_LOAD segments among its ${phnum} program headers: nothing to load`);
  }
  // Sorted by address, any overlap shows up between neighbours (empty segments occupy nothing).
  const order = segments.map((_, k) => k).filter((k) => segments[k].memsz > 0);
  order.sort((a, b) => segments[a].paddr - segments[b].paddr || a - b);
  for (let k = 1; k < order.length; k++) {
    const [a, b] = [Math.min(order[k - 1], order[k]), Math.max(order[k - 1], order[k])];
    const [s, t] = [segments[order[k - 1]], segments[order[k]]];
    if (t.paddr < s.paddr + s.memsz) {
      fail(
        `PT_LOAD segments overlap: program header ${indices[a]} (${range(segments[a])}) and ` +
          `program header ${indices[b]} (${range(segments[b])})`,
      );
    }
  }
  return segments;
}

function readSymbols(
  bytes: Uint8Array,
  shoff: number,
  shentsize: number,
  shnum: number,
  need: Need,
  fail: (what: string) => never,
): Map<string, number> {
  const symbols = new Map<string, number>();
  if (shoff === 0) return symbols; // no section headers: a stripped image still runs, without symbols
  if (shentsize !== SHDR_SIZE) {
    fail(`e_shentsize (offset 0x2e) is ${shentsize}, but an ELF32 section header is ${SHDR_SIZE} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  need(shoff, SHDR_SIZE, `the section header table (e_shoff ${hex(shoff)})`);
  // With 0xff00 or more sections, e_shnum is 0 and section 0's sh_size holds the count.
  const count = shnum === 0 ? view.getUint32(shoff + 20, true) : shnum;
  need(shoff, count * SHDR_SIZE, `the section header table (e_shoff ${hex(shoff)}, ${count} entries)`);
  const sh = (index: number, field: number): number =>
    view.getUint32(shoff + index * SHDR_SIZE + field, true);

  for (let i = 0; i < count; i++) {
    if (sh(i, 4) !== SHT_SYMTAB) continue;
    const [symoff, symsize, link] = [sh(i, 16), sh(i, 20), sh(i, 24)];
    const name = `section ${i} (SHT_SYMTAB)`;
    need(symoff, symsize, `the symbols of ${name} (sh_offset ${hex(symoff)}, sh_size ${hex(symsize)})`);
    if (link >= count) fail(`${name}: sh_link ${link} names no section (there are ${count})`);
    const [stroff, strsize] = [sh(link, 16), sh(link, 20)];
    need(
      stroff,
      strsize,
      `the string table, section ${link} (sh_offset ${hex(stroff)}, sh_size ${hex(strsize)})`,
    );
    const strtab = bytes.subarray(stroff, stroff + strsize);
    const locals = new Set<string>();
    for (let s = 0; s + SYM_SIZE <= symsize; s += SYM_SIZE) {
      const at = symoff + s;
      const info = bytes[at + 12];
      const type = info & 0xf;
      if (view.getUint16(at + 14, true) === SHN_UNDEF || type === STT_SECTION || type === STT_FILE) continue;
      const nameOff = view.getUint32(at, true);
      if (nameOff === 0) continue;
      const end = strtab.indexOf(0, nameOff);
      if (nameOff >= strsize || end < 0) {
        fail(
          `symbol ${s / SYM_SIZE} of ${name}: st_name ${hex(nameOff)} is not a terminated string in section ${link}`,
        );
      }
      const symName = Buffer.from(strtab.subarray(nameOff, end)).toString("utf8");
      const value = view.getUint32(at + 4, true);
      const local = info >>> 4 === STB_LOCAL;
      // A global definition replaces a local one of the same name; otherwise the first definition stays.
      if (!symbols.has(symName) || (locals.has(symName) && !local)) {
        symbols.set(symName, value);
        if (local) locals.add(symName);
        else locals.delete(symName);
      }
    }
  }
  return symbols;
}

function range(s: ElfSegment): string {
  return `paddr ${hex(s.paddr)}..${hex(s.paddr + s.memsz)}`;
}

/**
 * Copies every segment into RAM at its p_paddr and zero-fills p_memsz beyond p_filesz.
 * All segments are checked first, so an image that does not fit leaves RAM untouched.
 */
export function loadElf(image: ElfImage, ram: Ram): void {
  image.segments.forEach((s, i) => {
    if (s.memsz > 0 && !ram.contains(s.paddr, s.memsz)) {
      throw new ElfError(
        `${image.source}: segment ${i} (${range(s)}) does not fit in RAM ` +
          `${hex(ram.base)}..${hex(ram.base + ram.size)}`,
      );
    }
  });
  for (const s of image.segments) {
    if (s.data.length > 0) ram.load(s.paddr, s.data);
    const bssStart = s.paddr - ram.base + s.data.length;
    const bssEnd = s.paddr - ram.base + s.memsz;
    if (bssEnd > bssStart) {
      ram.u8.fill(0, bssStart, bssEnd);
      for (let off = bssStart; off < bssEnd; off += PAGE_SIZE - (off % PAGE_SIZE)) ram.markDirty(off);
    }
  }
}

/** Reads and parses an ELF file; a file that cannot be read is an ElfError naming it. */
export function readElfFile(path: string): ElfImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new ElfError(`${path}: cannot read: ${(e as Error).message}`);
  }
  return parseElf(bytes, path);
}

/** A short human summary: entry, then one line per segment. */
export function describe(image: ElfImage): string {
  const perms = (f: number): string => `${f & 4 ? "r" : "-"}${f & 2 ? "w" : "-"}${f & 1 ? "x" : "-"}`;
  const lines = image.segments.map(
    (s) =>
      `  ${hex(s.paddr)}..${hex(s.paddr + s.memsz)} ${perms(s.flags)} ` +
      `${hex(s.data.length)} from file, ${hex(s.memsz - s.data.length)} zeroed` +
      (s.vaddr !== s.paddr ? ` (vaddr ${hex(s.vaddr)})` : ""),
  );
  return [
    `${image.source}: entry ${hex(image.entry)}, ${image.segments.length} segment(s), ${image.symbols.size} symbol(s)`,
    ...lines,
  ].join("\n");
}
