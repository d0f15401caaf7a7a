/**
 * A virtual switch in domain 0: what Xen's `xenbr0` (a Linux bridge) is to its vifs. Each domain's network
 * device is one port; the switch learns which MAC lives behind which port from the frames' source
 * addresses and forwards by destination, the way IEEE 802.1D transparent bridging does.
 *
 *   port A ──send(frame)──▶ input ─┬─ invalid (short, over MTU, multicast or zero source) → drop, count
 *                                  ├─ learn: fdb[src] = (A, now)
 *                                  └─ dst broadcast / multicast / unknown / aged out → every port but A
 *                                     dst learned on port B ≠ A → B only;  learned on A itself → dropped
 *   port B ◀──frontend.receive── B's queue (at most `queueFrames`; a frame that finds it full is dropped)
 *
 * Rules, as a Linux bridge keeps them (net/bridge/br_input.c, br_forward.c, br_fdb.c):
 *   - a frame never goes back out of the port it came in on (no loops: a switch of one level has none);
 *   - a source address that is multicast or all zeros is invalid: the frame is dropped, nothing learned;
 *   - an entry not refreshed for `ageingNs` (300 s, the bridge's ageing_time) is forgotten; a MAC seen on
 *     another port moves there at once; the table holds at most `fdbCapacity` entries (beyond that the
 *     switch floods what it cannot learn, and counts it);
 *   - the payload (after the 14-byte header) may be at most `mtu` bytes (1500): larger frames are dropped.
 *
 * Pure: time is what `now()` says (nanoseconds), delivery is synchronous, and nothing here knows about
 * guests. The port is the NetBackend a virtio-net device is connected to.
 */
import type { NetBackend, NetFrontend } from "../../hypervisor/virtio/net-backend.js";

export const ETH_HEADER = 14;
export const DEFAULT_MTU = 1500;
export const DEFAULT_AGEING_NS = 300e9;
export const DEFAULT_QUEUE_FRAMES = 256;
export const DEFAULT_FDB_CAPACITY = 1024;

export interface SwitchOptions {
  /** The host's clock in nanoseconds (the Hypervisor's nowNs). */
  now: () => number;
  ageingNs?: number;
  /** Frames a port holds for a device that has no receive buffer. */
  queueFrames?: number;
  mtu?: number;
  fdbCapacity?: number;
}

/** One port's counters, from the switch's side: `in` came from the device, `out` went to it. */
export interface PortCounters {
  inFrames: number;
  inBytes: number;
  outFrames: number;
  outBytes: number;
  /** Frames from the device refused as invalid: shorter than a header, a bad source address. */
  inInvalid: number;
  /** Frames from the device whose payload exceeds the MTU. */
  inOversize: number;
  /** Frames for the device dropped because its queue was full (or it was disconnected). */
  outDropped: number;
}

export interface FdbEntry {
  mac: string;
  port: string;
  /** Nanoseconds since the entry was last refreshed. */
  ageNs: number;
}

/** A MAC address as a number (48 bits fit a double exactly), for the table's key. */
export function macKey(frame: Uint8Array, offset: number): number {
  let k = 0;
  for (let i = 0; i < 6; i++) k = k * 256 + frame[offset + i];
  return k;
}

export function macText(key: number): string {
  const out: string[] = [];
  for (let i = 5; i >= 0; i--) out.push((Math.floor(key / 256 ** i) % 256).toString(16).padStart(2, "0"));
  return out.join(":");
}

/** The group bit: bit 0 of the first byte (broadcast is a multicast address too). */
const isMulticast = (frame: Uint8Array, offset: number): boolean => (frame[offset] & 1) !== 0;

export class SwitchPort implements NetBackend {
  readonly counters: PortCounters = {
    inFrames: 0,
    inBytes: 0,
    outFrames: 0,
    outBytes: 0,
    inInvalid: 0,
    inOversize: 0,
    outDropped: 0,
  };
  private readonly queue: Uint8Array[] = [];
  private frontend: NetFrontend | undefined;
  private flushing = false;
  /** The device refused a frame: offer nothing more until it says it has buffers (rxReady). */
  private blocked = false;
  attached = true;

  constructor(
    private readonly sw: VirtualSwitch,
    readonly name: string,
    private readonly queueFrames: number,
  ) {}

  /** Frames waiting for the device. */
  get queued(): number {
    return this.queue.length;
  }

  send(frame: Uint8Array): void {
    if (this.attached) this.sw.input(this, frame);
  }

  connect(frontend: NetFrontend): void {
    this.frontend = frontend;
    this.blocked = false;
    this.flush();
  }

  rxReady(): void {
    this.blocked = false;
    this.flush();
  }

  disconnect(): void {
    this.frontend = undefined;
    this.counters.outDropped += this.queue.length;
    this.queue.length = 0;
    this.sw.removePort(this);
  }

  /** The switch forwards a frame here. */
  output(frame: Uint8Array): void {
    if (!this.attached) return;
    if (this.queue.length >= this.queueFrames) {
      this.counters.outDropped++;
      return;
    }
    this.queue.push(frame);
    this.flush();
  }

  private flush(): void {
    // A device may answer a frame at once (a frame out of another port can reach us meanwhile): one loop.
    if (this.flushing || this.blocked) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0 && this.frontend !== undefined) {
        const frame = this.queue[0];
        if (!this.frontend.receive(frame)) {
          this.blocked = true;
          break;
        }
        this.queue.shift();
        this.counters.outFrames++;
        this.counters.outBytes += frame.length;
      }
    } finally {
      this.flushing = false;
    }
  }
}

export class VirtualSwitch {
  readonly ageingNs: number;
  readonly mtu: number;
  readonly fdbCapacity: number;
  private readonly queueFrames: number;
  private readonly now: () => number;
  private readonly ports: SwitchPort[] = [];
  private readonly fdb = new Map<number, { port: SwitchPort; seen: number }>();
  /** Frames flooded because the table was full when their source should have been learned. */
  fdbFull = 0;

  constructor(
    readonly name: string,
    opts: SwitchOptions,
  ) {
    this.now = opts.now;
    this.ageingNs = opts.ageingNs ?? DEFAULT_AGEING_NS;
    this.queueFrames = opts.queueFrames ?? DEFAULT_QUEUE_FRAMES;
    this.mtu = opts.mtu ?? DEFAULT_MTU;
    this.fdbCapacity = opts.fdbCapacity ?? DEFAULT_FDB_CAPACITY;
    if (!(this.queueFrames >= 1) || !(this.mtu >= 68) || !(this.fdbCapacity >= 1))
      throw new RangeError(`switch ${name}: queueFrames ≥ 1, mtu ≥ 68 and fdbCapacity ≥ 1 are required`);
  }

  /** A new port (Xen names them vif<domid>.<n>). */
  addPort(name: string): SwitchPort {
    if (this.ports.some((p) => p.name === name)) throw new Error(`switch ${this.name}: port ${name} exists`);
    const p = new SwitchPort(this, name, this.queueFrames);
    this.ports.push(p);
    return p;
  }

  /** Takes a port off the switch and forgets every address learned on it. */
  removePort(port: SwitchPort): void {
    const i = this.ports.indexOf(port);
    if (i < 0) return;
    this.ports.splice(i, 1);
    port.attached = false;
    for (const [k, e] of this.fdb) if (e.port === port) this.fdb.delete(k);
  }

  get portList(): readonly SwitchPort[] {
    return this.ports;
  }

  /** The port a MAC is learned on (and not aged out), if any. */
  lookup(mac: number): SwitchPort | undefined {
    const e = this.fdb.get(mac);
    if (e === undefined) return undefined;
    if (this.now() - e.seen >= this.ageingNs) {
      this.fdb.delete(mac);
      return undefined;
    }
    return e.port;
  }

  /** The forwarding table (`bridge fdb show`), live entries only, sorted by MAC. */
  fdbEntries(): FdbEntry[] {
    const now = this.now();
    const out: FdbEntry[] = [];
    for (const [k, e] of [...this.fdb].sort((a, b) => a[0] - b[0])) {
      if (now - e.seen >= this.ageingNs) this.fdb.delete(k);
      else out.push({ mac: macText(k), port: e.port.name, ageNs: now - e.seen });
    }
    return out;
  }

  /** A frame from `from`'s device. */
  input(from: SwitchPort, frame: Uint8Array): void {
    const c = from.counters;
    if (frame.length < ETH_HEADER || isMulticast(frame, 6) || macKey(frame, 6) === 0) {
      c.inInvalid++;
      return;
    }
    if (frame.length - ETH_HEADER > this.mtu) {
      c.inOversize++;
      return;
    }
    c.inFrames++;
    c.inBytes += frame.length;
    this.learn(macKey(frame, 6), from);
    const to = isMulticast(frame, 0) ? undefined : this.lookup(macKey(frame, 0));
    if (to === from) return; // the destination is behind the port it came from: nothing to forward
    if (to !== undefined) {
      to.output(frame);
      return;
    }
    // Flood. Every port gets its own copy: a device may keep what it is given.
    for (const p of [...this.ports]) if (p !== from) p.output(frame.slice());
  }

  private learn(mac: number, port: SwitchPort): void {
    const e = this.fdb.get(mac);
    const now = this.now();
    if (e !== undefined) {
      e.port = port;
      e.seen = now;
      return;
    }
    if (this.fdb.size >= this.fdbCapacity) {
      this.sweep(now);
      if (this.fdb.size >= this.fdbCapacity) {
        this.fdbFull++;
        return;
      }
    }
    this.fdb.set(mac, { port, seen: now });
  }

  private sweep(now: number): void {
    for (const [k, e] of this.fdb) if (now - e.seen >= this.ageingNs) this.fdb.delete(k);
  }
}
