/**
 * Saving a domain and restoring one, on a Hypervisor: the orchestration around the per-component
 * save/restore pairs (vcpu.ts, pv.ts, memory.ts, the device models' snapshots).
 *
 *   saveDomain(hv, id)          pause (if running) ─▶ take its vCPUs off the pCPUs ─▶ read every
 *                               component ─▶ DomainSaveState; the domain is left paused: the caller
 *                               destroys it (save), unpauses it (checkpoint) or leaves it
 *   restoreDomain(hv, state)    buildDomain (a new P2M over whatever frames this host has, devices,
 *                               stopped vCPUs) ─▶ memory, devices, PV state, vCPUs, clock ─▶ unpause
 *                               (unless asked to stay paused); on any failure the new domain is
 *                               discarded (not ended as a guest ends: a host whose last domain it
 *                               was is not powered off), so a refused restore leaves the host as it was
 *
 * The state carries guest time: the restored domain's clock offset (guest-time.ts) makes its time go
 * on from where it was saved, so timers and the guest's idea of elapsed time survive a move between
 * hosts whose clocks differ.
 */
import type { ConsoleBackend } from "../../machine/devices/console.js";
import { DeviceStateError } from "../../machine/devices/snapshot.js";
import type { Domain } from "../domain.js";
import { type DomainBuild, DomainConfigError, type Hypervisor } from "../hypervisor.js";
import type { DomainId } from "../scheduler/interface.js";
import { populatedGfns, restoreMemory, saveMemory } from "./memory.js";
import { restorePv, savePv } from "./pv.js";
import type { DomainSaveState } from "./state.js";
import { restoreVcpu, saveVcpu } from "./vcpu.js";

/**
 * Pauses domain `id` if it runs, and reads its whole state. It stays paused. Refused (nothing changes)
 * for a domain that has ended or has a virtio device that cannot save its state (DomainDevices.unsaveable).
 */
export function saveDomain(hv: Hypervisor, id: DomainId): DomainSaveState {
  const d = hv.domains.get(id);
  if (d === undefined) throw new DomainConfigError(`no domain ${id}`);
  if (!d.alive) throw new DomainConfigError(`domain ${id} (${d.name}) is ${d.state}: nothing to save`);
  const virtio = d.devices?.unsaveable ?? [];
  if (virtio.length > 0)
    throw new DomainConfigError(
      `domain ${id} (${d.name}) has virtio devices whose state cannot be saved (${virtio.join(", ")})`,
    );
  if (d.state === "running") hv.pauseDomain(id);
  hv.unloadDomain(id);
  const sched = hv.scheduler.stats(hv.nowNs).domains.find((x) => x.dom === id);
  if (d.devices === undefined) throw new Error(`domain ${id} has no devices`);
  return {
    domain: {
      name: d.name,
      mode: d.mode,
      maxFrames: d.p2m.maxFrames,
      ramPages: d.ramPages,
      maxPages: d.maxPages,
      vcpus: d.vcpus.length,
      guestTime: hv.hostTicks + d.timeOffset,
      weight: sched?.weight ?? 256,
      cap: sched?.cap ?? 0,
      storeRing: d.storeRing !== undefined,
      balloon: d.balloon !== undefined,
      retired: d.retired,
      exits: Object.fromEntries(d.exits),
      calls: Object.fromEntries(d.calls),
    },
    vcpus: d.vcpus.map(saveVcpu),
    pv: d.pv === undefined ? undefined : savePv(d.pv),
    devices: d.devices.snapshot(),
    memory: saveMemory(d),
  };
}

export interface RestoreOptions {
  console?: ConsoleBackend;
  /**
   * The host side of its virtio devices, as the domain's definition gives them (disk images, a console
   * backend, nics on this host's switches); they must make the same slots as the saved domain's
   * (with its balloon, which the state records, after the nics).
   */
  devices?: Pick<DomainBuild, "disks" | "virtioConsole" | "nics">;
  /** Leave it paused (xl restore -p). Default: it runs at once. */
  paused?: boolean;
}

/**
 * A new domain on `hv` from a checked state (decodeDomainImage's), continuing where it was saved. Throws
 * DomainConfigError (name taken, no G-stage root) or OutOfFramesError without changing anything.
 */
export function restoreDomain(hv: Hypervisor, s: DomainSaveState, opts: RestoreOptions = {}): Domain {
  const r = s.domain;
  // A nic whose definition names no MAC had one derived from the domain's id (vifMac); the restored
  // domain has another id, but its guest knows the saved MAC (and so do its peers): it keeps that one.
  const macs = savedMacs(s);
  const nics = opts.devices?.nics?.map((n, i) => (n.mac === undefined ? { ...n, mac: macs[i] } : n));
  const d = hv.buildDomain({
    mode: r.mode,
    name: r.name,
    maxFrames: r.maxFrames,
    ramFrames: r.ramPages,
    maxPages: r.maxPages,
    populate: populatedGfns(s.memory),
    vcpus: r.vcpus,
    console: opts.console,
    weight: r.weight,
    cap: r.cap,
    storeRing: r.storeRing,
    balloon: r.balloon,
    ...opts.devices,
    nics,
  });
  try {
    d.state = "paused";
    d.timeOffset = r.guestTime - hv.hostTicks;
    d.retired = r.retired;
    for (const [k, n] of Object.entries(r.exits)) d.exits.set(k, n);
    for (const [k, n] of Object.entries(r.calls)) d.calls.set(k, n);
    restoreMemory(d, s.memory);
    d.devices?.restore(s.devices);
    if (d.pv !== undefined && s.pv !== undefined) restorePv(d.pv, s.pv);
    for (const v of d.vcpus) restoreVcpu(v, s.vcpus[v.index]);
  } catch (e) {
    hv.discardDomain(d.id);
    if (e instanceof DeviceStateError) throw new DomainConfigError(`${r.name}: devices: ${e.message}`);
    throw e;
  }
  if (opts.paused !== true) hv.unpauseDomain(d.id);
  return d;
}

/** The saved MACs of the domain's virtio-net devices, in slot order (undefined where not a string). */
function savedMacs(s: DomainSaveState): (string | undefined)[] {
  const slots = Array.isArray(s.devices?.virtio) ? s.devices.virtio : [];
  return slots
    .filter((v) => v?.device === "virtio-net")
    .map((v) => {
      const mac = (v?.model as { mac?: unknown } | null | undefined)?.mac;
      return typeof mac === "string" ? mac : undefined;
    });
}
