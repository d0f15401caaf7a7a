/**
 * The names a person can give `--engine` and `--firmware`, and what each one is. Adding an engine (the
 * translator) or a firmware is one line here; the CLI's checks, help and `rvisor info` read these tables.
 */
import type { Firmware } from "../machine/boot.js";
import { run as translate } from "../machine/dbt/engine.js";
import { sbiFirmware } from "../machine/firmware/sbi.js";
import { run as interpret } from "../machine/interpreter.js";
import type { Engine } from "../machine/machine.js";

export interface EngineEntry {
  engine: Engine;
  description: string;
}

export const ENGINES = {
  dbt: { engine: translate, description: "the binary translator: guest blocks compiled to JavaScript" },
  interp: { engine: interpret, description: "the reference interpreter: fetch, decode, execute" },
} satisfies Record<string, EngineEntry>;

/** The engine used when none is named. */
export const DEFAULT_ENGINE: EngineName = "dbt";

export type EngineName = keyof typeof ENGINES;
export const ENGINE_NAMES = Object.keys(ENGINES) as EngineName[];

export interface FirmwareEntry {
  /** undefined: no firmware, the ELF starts in M-mode as on QEMU's `-bios none`. */
  firmware: Firmware | undefined;
  description: string;
}

export const FIRMWARES = {
  none: { firmware: undefined, description: "no firmware: the ELF starts in M-mode at its entry" },
  sbi: { firmware: sbiFirmware, description: "rvisor's SBI in TypeScript: the ELF starts in S-mode" },
} satisfies Record<string, FirmwareEntry>;

export type FirmwareName = keyof typeof FIRMWARES;
export const FIRMWARE_NAMES = Object.keys(FIRMWARES) as FirmwareName[];
