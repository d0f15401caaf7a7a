/**
 * What a network device model is connected to: a backend (a port of domain 0's virtual switch, or a test)
 * that takes the frames the guest transmits and offers it the frames it should receive.
 *
 *   guest ──tx queue──▶ device ──backend.send(frame)──▶ switch port ──▶ other ports' queues
 *   guest ◀──rx queue── device ◀──frontend.receive(frame)── port queue (bounded; kept while refused)
 *
 * Frames are whole Ethernet frames from the destination MAC onward: no virtio header, no FCS. The
 * device tells the backend when the guest has posted receive buffers (`rxReady`), so frames the port
 * queued while the guest had none are offered again; a queue that stays full drops at the port.
 *
 * The interface lives here (the hypervisor) so that imports keep pointing machine ← hypervisor ← control:
 * the switch in control/net implements it.
 */

/** The device's side of the connection, as the backend sees it. */
export interface NetFrontend {
  /**
   * Offers one frame to the guest. Returns false, keeping nothing, when the guest has no receive buffer
   * for it now; the backend keeps the frame and offers it again after `rxReady`.
   */
  receive(frame: Uint8Array): boolean;
}

export interface NetBackend {
  /** A frame the guest transmitted. The backend owns it from now on (the device made a copy). */
  send(frame: Uint8Array): void;
  /** Connects the device: frames for the guest are offered to `frontend` from now on. */
  connect(frontend: NetFrontend): void;
  /** The guest posted receive buffers: offer the frames that are waiting. */
  rxReady(): void;
  /** The device is gone (its domain was destroyed): forget it; frames for it are dropped. */
  disconnect(): void;
}
