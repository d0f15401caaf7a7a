/**
 * A domain's save image: a DomainSaveState (and, if the toolstack adds one, its own JSON record) as the
 * sections of an image.ts container, and back. Decoding checks the container first (magic, version,
 * length, checksum), then every section field by field and the sections against each other, so a state
 * that comes out of here can be restored without a surprise.
 *
 *   section     body    holds
 *   domain      JSON    DomainRecord
 *   vcpus       JSON    VcpuSaveState[], by index
 *   devices     JSON    DomainDevicesState
 *   pv          JSON    PvSaveState (pv domains only)
 *   toolstack   JSON    whatever the toolstack keeps (rvisord: the config text, its path, the uuid)
 *   memory      binary  page records (memory.ts)
 */
import { DeviceStateError } from "../../machine/devices/snapshot.js";
import { checkDevicesState } from "../devices.js";
import { DOMAIN_MODES } from "../domain.js";
import { WEIGHT_MAX, WEIGHT_MIN } from "../scheduler/ledger.js";
import { Fields, ImageError } from "./fields.js";
import { decodeImage, encodeImage, type ImageHeader, type Section } from "./image.js";
import { decodeMemory, encodeMemory } from "./memory.js";
import { parsePvState } from "./pv.js";
import type { DomainDevicesState, DomainRecord, DomainSaveState } from "./state.js";
import { parseVcpuState } from "./vcpu.js";

/** Guest RAM spans at most 2 GiB (0x8000_0000 to the top of the 32-bit space). */
const MAX_FRAMES = 0x8_0000;
const MAX_VCPUS = 32;
const SECTIONS = ["domain", "vcpus", "devices", "pv", "toolstack", "memory"] as const;

export interface DomainImage {
  state: DomainSaveState;
  /** The toolstack's record, as it was given to encodeDomainImage (undefined if none). */
  toolstack: unknown;
  header: ImageHeader;
  /** The image's SHA-256 (hex). */
  sha256: string;
}

/** The image's bytes, as chunks for writeImageFile. */
export function encodeDomainImage(s: DomainSaveState, producer: string, toolstack?: unknown): Buffer[] {
  const json = (name: string, value: unknown): Section => ({
    name,
    body: Buffer.from(JSON.stringify(value), "utf8"),
  });
  const sections = [json("domain", s.domain), json("vcpus", s.vcpus), json("devices", s.devices)];
  if (s.pv !== undefined) sections.push(json("pv", s.pv));
  if (toolstack !== undefined) sections.push(json("toolstack", toolstack));
  sections.push({ name: "memory", body: encodeMemory(s.memory) });
  return encodeImage(sections, producer);
}

/** Reads and checks a whole image; `what` names it in errors (its path). */
export function decodeDomainImage(bytes: Uint8Array, what = "the file"): DomainImage {
  const img = decodeImage(bytes, what);
  const inFile = (m: string) => new ImageError(`${what}: ${m}`);
  for (const name of img.sections.keys())
    if (!(SECTIONS as readonly string[]).includes(name))
      throw inFile(`section ${name} (offset ${img.offsets.get(name)}) is not one this rvisor knows`);
  const json = (name: string): unknown => {
    const body = img.sections.get(name);
    if (body === undefined) return undefined;
    try {
      return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.length).toString("utf8"));
    } catch (e) {
      throw inFile(`section ${name} (offset ${img.offsets.get(name)}) is not JSON: ${(e as Error).message}`);
    }
  };
  const need = <T>(name: string, parse: (v: unknown) => T): T => {
    const v = json(name);
    if (v === undefined) throw inFile(`section ${name} is missing`);
    return parse(v);
  };
  try {
    const domain = need("domain", parseDomainRecord);
    const vcpuList = need("vcpus", (v) => {
      if (!Array.isArray(v)) throw new ImageError("section vcpus: not an array");
      return v.map((x, i) => parseVcpuState(x, `section vcpus: [${i}]`));
    });
    if (vcpuList.length !== domain.vcpus)
      throw new ImageError(
        `section vcpus: ${vcpuList.length} vCPUs, but section domain says ${domain.vcpus}`,
      );
    for (const [i, v] of vcpuList.entries())
      if (v.index !== i) throw new ImageError(`section vcpus: [${i}].index is ${v.index}, not ${i}`);
    const devices = need("devices", (v) => {
      try {
        checkDevicesState(v as DomainDevicesState, domain.vcpus);
      } catch (e) {
        if (e instanceof DeviceStateError) throw new ImageError(`section devices: ${e.message}`);
        throw e;
      }
      return v as DomainDevicesState;
    });
    const memBody = img.sections.get("memory");
    if (memBody === undefined) throw new ImageError("section memory is missing");
    const memory = decodeMemory(memBody, img.offsets.get("memory") ?? 0, domain.maxFrames);
    const ram = new Set(memory.pages.map((p) => p.gfn));
    const pvJson = json("pv");
    if ((pvJson !== undefined) !== (domain.mode === "pv"))
      throw new ImageError(
        domain.mode === "pv"
          ? "section pv is missing"
          : `section pv is there, but the domain's mode is ${domain.mode}`,
      );
    const pv = pvJson === undefined ? undefined : parsePvState(pvJson, "section pv:", (g) => ram.has(g));
    for (const [i, v] of vcpuList.entries()) {
      const g = v.pv.sharedGpa;
      if (g >= 0 && (g % 4096 !== 0 || !ram.has(g / 4096)))
        throw new ImageError(
          `section vcpus: [${i}].pv.sharedGpa 0x${g.toString(16)} is not a page of the domain's RAM`,
        );
    }
    return {
      state: { domain, vcpus: vcpuList, pv, devices, memory },
      toolstack: json("toolstack"),
      header: img.header,
      sha256: img.sha256,
    };
  } catch (e) {
    if (e instanceof ImageError && !e.message.startsWith(`${what}:`)) throw inFile(e.message);
    throw e;
  }
}

function parseDomainRecord(json: unknown): DomainRecord {
  const f = Fields.of(json, "section domain:");
  const name = f.str("name");
  if (name.length === 0 || name.length > 256)
    throw new ImageError(`${f.at("name")}: must be 1 to 256 characters long`);
  const maxFrames = f.int("maxFrames", 1, MAX_FRAMES);
  return {
    name,
    mode: f.oneOf("mode", DOMAIN_MODES),
    maxFrames,
    ramPages: f.int("ramPages", 1, maxFrames),
    maxPages: f.int("maxPages", 1, maxFrames),
    vcpus: f.int("vcpus", 1, MAX_VCPUS),
    guestTime: f.count("guestTime"),
    weight: f.int("weight", WEIGHT_MIN, WEIGHT_MAX),
    cap: f.int("cap", 0, 100 * MAX_VCPUS),
    storeRing: f.bool("storeRing"),
    balloon: f.bool("balloon"),
    retired: f.count("retired"),
    exits: f.counts("exits"),
    calls: f.counts("calls"),
  };
}
