/**
 * rvisord's side of save files: what the toolstack keeps in an image beside the hypervisor's state (the
 * domain's definition, so a restore on another host needs nothing else), and the file's way in and out
 * with the errors the API gives.
 *
 *   save:     DomainSaveState + SavedDefinition ──encodeDomainImage──▶ writeImageFile (temp + rename)
 *   restore:  readImageFile ──decodeDomainImage (magic, version, length, checksum, every field)──▶
 *             SavedDefinition ──parseDomainConfig──▶ DomainConfig, checked against the saved state
 *
 * Everything here happens before any domain is touched: a refused restore changes nothing.
 */
import { dirname, isAbsolute } from "node:path";
import { decodeDomainImage, encodeDomainImage } from "../../hypervisor/save/domain-image.js";
import { ImageError } from "../../hypervisor/save/fields.js";
import { readImageFile, writeImageFile } from "../../hypervisor/save/image.js";
import { memoryStateHash } from "../../hypervisor/save/memory.js";
import type { DomainSaveState } from "../../hypervisor/save/state.js";
import { ConfigError, type DomainConfig, parseDomainConfig, printConfig } from "../config/index.js";
import type { StoredDomain } from "./api.js";
import { ApiError } from "./http.js";
import { type GuestStoreState, parseGuestStore } from "./store-ring.js";

/** The image's `toolstack` section: the domain's definition as rvisord stores it. */
export interface SavedDefinition {
  name: string;
  uuid: string;
  /** The config file it was created from (relative paths in `text` are relative to its directory). */
  source: string;
  /** The file's text as the user wrote it. */
  text: string;
  /** printConfig of the parsed config: every key, absolute paths; what a restore parses. */
  config: string;
  /** The vCPUs the store asked to be online when saved (vcpu-set); the memory target is the balloon's. */
  onlineVcpus?: number;
  /** The guest's watches and the nodes it wrote (it gets them back at restore). */
  store?: GuestStoreState;
}

export interface WrittenImage {
  path: string;
  bytes: number;
  sha256: string;
  pages: number;
  zeroPages: number;
  memoryHash: string;
}

export interface ReadImage {
  state: DomainSaveState;
  stored: StoredDomain;
  savedAt: string;
  memoryHash: string;
  /** The vCPUs the store asked to be online when saved, if the image says. */
  onlineVcpus: number | undefined;
  store: GuestStoreState | undefined;
}

/** A request's path: a string naming an absolute path. */
export function requestPath(body: unknown): string {
  const p = (body as { path?: unknown } | null)?.path;
  if (typeof p !== "string" || p.length === 0)
    throw new ApiError(400, 'the body must be JSON {"path": <the save file\'s absolute path>, …}');
  if (!isAbsolute(p)) throw new ApiError(400, `${p}: give the save file's absolute path`);
  return p;
}

export function writeSavedDomain(
  path: string,
  state: DomainSaveState,
  stored: StoredDomain,
  producer: string,
  onlineVcpus?: number,
  store?: GuestStoreState,
): WrittenImage {
  const definition: SavedDefinition = {
    name: stored.name,
    uuid: stored.uuid,
    source: stored.source,
    text: stored.text,
    config: printConfig(stored.config),
    onlineVcpus,
    store,
  };
  const chunks = encodeDomainImage(state, producer, definition);
  try {
    writeImageFile(path, chunks);
  } catch (e) {
    throw new ApiError(400, `${path}: cannot write the save image: ${(e as Error).message}`);
  }
  const sha256 = Buffer.from(chunks[chunks.length - 1]).toString("hex");
  return {
    path,
    bytes: chunks.reduce((n, c) => n + c.length, 0),
    sha256,
    pages: state.memory.pages.length,
    zeroPages: state.memory.pages.filter((p) => p.data === undefined).length,
    memoryHash: memoryStateHash(state.memory),
  };
}

/** Reads, checks and decodes a save image, and its definition; every refusal is a 400 saying why. */
export function readSavedDomain(path: string): ReadImage {
  let image: ReturnType<typeof decodeDomainImage>;
  try {
    image = decodeDomainImage(readImageFile(path), path);
  } catch (e) {
    if (e instanceof ImageError) throw new ApiError(400, e.message);
    throw e;
  }
  const def = parseDefinition(image.toolstack, path);
  const where = `${path}: the saved config`;
  let config: DomainConfig;
  try {
    config = parseDomainConfig(def.config, { file: where, baseDir: dirname(def.source) }).config;
  } catch (e) {
    if (e instanceof ConfigError) throw new ApiError(400, e.message);
    throw e;
  }
  const r = image.state.domain;
  const differs = [
    ["name", config.name, r.name],
    ["type", config.type, r.mode],
    ["maxvcpus", config.maxvcpus, r.vcpus],
    ["memory (4 KiB frames)", config.memoryMiB * 256, r.ramPages],
    ["maxmem (4 KiB frames)", config.maxmemMiB * 256, r.maxFrames],
  ].find(([, a, b]) => a !== b);
  if (differs !== undefined)
    throw new ApiError(
      400,
      `${where} says ${differs[0]} ${differs[1]}, but the saved domain's is ${differs[2]}: the image is inconsistent`,
    );
  return {
    state: image.state,
    stored: { name: config.name, uuid: def.uuid, source: def.source, text: def.text, config },
    savedAt: image.header.created,
    memoryHash: memoryStateHash(image.state.memory),
    onlineVcpus: def.onlineVcpus,
    store: def.store,
  };
}

function parseDefinition(json: unknown, path: string): SavedDefinition {
  const o = json as Partial<SavedDefinition> | undefined;
  const keys = ["name", "uuid", "source", "text", "config"] as const;
  const bad = o === undefined || o === null ? "missing" : keys.find((k) => typeof o[k] !== "string");
  if (bad !== undefined)
    throw new ApiError(
      400,
      bad === "missing"
        ? `${path}: the image has no toolstack section: it was not saved by rvisord`
        : `${path}: section toolstack: ${bad}: not a string`,
    );
  const def = o as SavedDefinition;
  const n = def.onlineVcpus;
  if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 32))
    throw new ApiError(400, `${path}: section toolstack: onlineVcpus: ${JSON.stringify(n)} is not 1..32`);
  if (def.store !== undefined) {
    const s = parseGuestStore(def.store);
    if (typeof s === "string") throw new ApiError(400, `${path}: section toolstack: store: ${s}`);
  }
  return def;
}
