/**
 * What a Hypervisor is made with (the host's pCPUs, RAM, engine, clock, scheduler, limits and quirks),
 * and the control domain's fixed identity.
 */
import type { ClockKind, Engine } from "../machine/machine.js";
import type { SchedulerName } from "./scheduler/registry.js";

export interface HypervisorOptions {
  /** Host harts (pCPUs). Default 2. */
  pcpus?: number;
  /** Host RAM in MiB: every domain's memory plus shadow tables. Default 256. */
  hostMemoryMiB?: number;
  engine?: Engine;
  clock?: ClockKind;
  scheduler?: SchedulerName;
  /** Guest address spaces whose shadows a PV vCPU keeps (trap mode keeps one: sfence flushes). */
  pvShadowSets?: number;
  /** When every vCPU is blocked and no timer is armed: end the run (default) or wait for input. */
  onIdle?: "exit" | "wait";
  /** Host CPU quirks (see Hart.quirkSensitiveRead): "sensitive-unprivileged". */
  quirks?: readonly Quirk[];
  /**
   * A host that outlives its domains (the daemon): it runs with none, and the last one ending does not
   * end the run. Default false: the run ends when every domain has.
   */
  persistent?: boolean;
  /**
   * hvm domains that can exist at once: each needs a 16 KiB-aligned G-stage root, kept in a region
   * reserved at the start of host RAM (16 KiB each). Default 8.
   */
  hvmDomains?: number;
}

export const QUIRKS = ["sensitive-unprivileged"] as const;
export type Quirk = (typeof QUIRKS)[number];

/** The control domain's entry in listings: it runs no guest code. */
export const CONTROL_DOMAIN = { id: 0, name: "Domain-0" } as const;
