/**
 * Domain 0's virtual switches by bridge name (Xen's xenbr0, br1, ...): one VirtualSwitch per name, made
 * when the first interface is attached to it; a domain's vif n is port vif<domid>.<n> there, as Xen names
 * the backend interfaces. rvisord and `rvisor run` both build their domains' interfaces through this.
 */
import type { NicSpec } from "../../hypervisor/hypervisor.js";
import { VirtualSwitch } from "./switch.js";

export class Bridges {
  private readonly switches = new Map<string, VirtualSwitch>();

  /** `now`: the host's clock in nanoseconds (the Hypervisor's nowNs), for the MAC tables' ageing. */
  constructor(private readonly now: () => number) {}

  /** The switch called `name`, made on first use. */
  get(name: string): VirtualSwitch {
    let sw = this.switches.get(name);
    if (sw === undefined) {
      sw = new VirtualSwitch(name, { now: this.now });
      this.switches.set(name, sw);
    }
    return sw;
  }

  /** Every switch made so far, in the order they were. */
  list(): VirtualSwitch[] {
    return [...this.switches.values()];
  }

  /** The createDomain interfaces for a domain's vifs (a MAC each, or the hypervisor's default). */
  nics(vifs: readonly { bridge: string; mac?: string }[]): NicSpec[] {
    return vifs.map((v) => ({
      mac: v.mac,
      connect: (domId, index) => this.get(v.bridge).addPort(`vif${domId}.${index}`),
    }));
  }
}
