/**
 * The store: rvisor's XenStore, as a pure and deterministic module.
 *
 * XenStore is the small hierarchical database through which Xen's control domain and its guests
 * agree on configuration: the toolstack writes /local/domain/<id>/{name,memory/target,...}, a guest
 * reads its own subtree and answers requests such as control/shutdown, device frontends and backends
 * meet under device/ and backend/. This module keeps Xen's semantics, as docs/misc/xenstore.txt,
 * xs_wire.h, cxenstored and oxenstored define them, so that a Xen user finds the same paths, the same
 * errors and the same watch behaviour:
 *
 *   Store ────────────── the tree (tree.ts), its permissions (permissions.ts), quotas (quota.ts),
 *     │                  special watch paths (@introduceDomain, @releaseDomain), domain bookkeeping
 *     ├── Connection ─── one client: its watches (watch.ts), open transactions (transaction.ts),
 *     ├── Connection     queued watch events; operations named as Xen names them (connection.ts)
 *     └── ...
 *   operations.ts ────── READ/WRITE/MKDIR/RM/DIRECTORY/GET_PERMS/SET_PERMS with Xen's errno rules
 *   wire.ts ──────────── the xsd_sockmsg header, message framing and payload strings
 *   requests.ts ──────── each request type's payload, parsed and encoded
 *   protocol.ts ──────── one request message in, one reply message out, through a Connection
 *   well-known.ts ────── the paths the toolstack writes for every domain
 *
 * Nothing here has sockets, timers or randomness: a request is a function call, a watch event is an
 * entry in a connection's queue, and the transport that carries both (the guest's PV ring with its
 * event channel, the daemon's unix socket) lives elsewhere and drains those queues.
 *
 * Changes made outside a transaction take effect at once and fire their watch events at once. Changes
 * made inside a transaction are invisible to everyone else and fire nothing until the commit; a commit
 * that would not be equivalent to running the transaction at that instant is refused with EAGAIN
 * (transaction.ts explains the rule).
 */

import { Connection } from "./connection.js";
import { fail, ok, type XsErrno, XsError, type XsResult } from "./errors.js";
import type { ChangeEvent, OpContext } from "./operations.js";
import * as ops from "./operations.js";
import { INTRODUCE_DOMAIN, RELEASE_DOMAIN } from "./path.js";
import { isPrivileged, type NodePerms, ownerOf, PRIVILEGED_DOMID, rightsFor } from "./permissions.js";
import { type Quotas, XEN_DEFAULT_QUOTAS } from "./quota.js";
import { Transaction } from "./transaction.js";
import { type GenerationCounter, Tree } from "./tree.js";
import { matchWatch } from "./watch.js";

/** Domain ids from DOMID_FIRST_RESERVED (0x7ff0, xen.h) up are special, never real domains. */
export const DOMID_FIRST_RESERVED = 0x7ff0;

export interface IntroducedDomain {
  readonly domid: number;
  /** The guest frame of its xenstore ring page and its event channel, kept for the ring transport. */
  readonly mfn: number;
  readonly evtchn: number;
  readonly connection: Connection;
}

export class Store {
  readonly tree: Tree;
  private readonly counter: GenerationCounter = { value: 0 };
  private readonly connections = new Set<Connection>();
  private readonly domains = new Map<number, IntroducedDomain>();
  private readonly specials = new Map<string, NodePerms>([
    [INTRODUCE_DOMAIN, [{ domid: 0, access: "n" }]],
    [RELEASE_DOMAIN, [{ domid: 0, access: "n" }]],
  ]);
  private nextTransactionId = 1;

  constructor(readonly quotas: Quotas = XEN_DEFAULT_QUOTAS) {
    this.tree = new Tree(this.counter);
    // The root belongs to domain 0 and is closed to everyone else, as in both Xen daemons.
    this.tree.put("/", { value: new Uint8Array(0), perms: [{ domid: 0, access: "n" }], children: [] });
  }

  /** Opens a connection for `domid` (domain 0's tools, the daemon; guests arrive by introduce()). */
  connect(domid: number): Connection {
    const c = new Connection(this, domid);
    this.connections.add(c);
    return c;
  }

  disconnect(c: Connection): void {
    this.connections.delete(c);
  }

  domain(domid: number): IntroducedDomain | undefined {
    return this.domains.get(domid);
  }

  isIntroduced(domid: number): boolean {
    return this.domains.has(domid);
  }

  error(errno: XsErrno, detail: string): XsError {
    return new XsError(errno, detail);
  }

  /** Runs one operation for `conn`, on the live tree or inside `tx`, and fires or keeps its events. */
  apply<T>(conn: Connection, tx: Transaction | undefined, body: (ctx: OpContext) => T): T {
    const events: ChangeEvent[] = [];
    const ctx: OpContext = {
      tree: tx ? tx.tree : this.tree,
      domid: conn.domid,
      quotas: this.quotas,
      emit: (e) => events.push(e),
    };
    const result = body(ctx);
    if (tx) tx.events.push(...events);
    else this.fire(events);
    return result;
  }

  beginTransaction(): Transaction {
    const id = this.nextTransactionId;
    // tx_id is a uint32 and 0 means "no transaction".
    this.nextTransactionId = id === 0xffffffff ? 1 : id + 1;
    return new Transaction(id, this.tree);
  }

  commit(t: Transaction): void {
    this.fire(t.commit(this.tree));
  }

  /** INTRODUCE: domain 0 tells the store about a new guest; fires @introduceDomain. */
  introduce(caller: Connection, domid: number, mfn: number, evtchn: number): Connection {
    if (!isPrivileged(caller.domid))
      throw new XsError("EACCES", `domain ${caller.domid} may not introduce domains`);
    if (!Number.isInteger(domid) || domid <= 0 || domid >= DOMID_FIRST_RESERVED)
      throw new XsError("EINVAL", `introduce: ${domid} is not a guest domain id`);
    if (this.domains.has(domid)) throw new XsError("EEXIST", `domain ${domid} is already introduced`);
    const connection = this.connect(domid);
    this.domains.set(domid, { domid, mfn, evtchn, connection });
    this.fire([{ path: INTRODUCE_DOMAIN, perms: this.specials.get(INTRODUCE_DOMAIN)!, removed: false }]);
    return connection;
  }

  /**
   * RELEASE: the guest's connection goes (its watches and transactions with it), so do its nodes and
   * its permission entries (forget()); fires @releaseDomain.
   */
  release(caller: Connection, domid: number): void {
    if (!isPrivileged(caller.domid))
      throw new XsError("EACCES", `domain ${caller.domid} may not release domains`);
    const d = this.domains.get(domid);
    if (!d) throw new XsError("ENOENT", `domain ${domid} is not introduced`);
    this.domains.delete(domid);
    d.connection.close();
    this.forget(domid);
    this.fire([{ path: RELEASE_DOMAIN, perms: this.specials.get(RELEASE_DOMAIN)!, removed: false }]);
  }

  /**
   * Leaves nothing a later domain reusing `domid` could inherit: nodes the domain owned are removed
   * with their subtrees (XSA-419, which also keeps them from escaping the quota), and ACL entries
   * naming it are dropped from every other node and special path (XSA-322).
   */
  private forget(domid: number): void {
    const owned = [...this.tree.paths()].filter((p) => ownerOf(this.tree.peek(p)!.perms) === domid).sort();
    const privileged = this.connect(PRIVILEGED_DOMID);
    for (const path of owned) {
      if (this.tree.peek(path)) this.apply(privileged, undefined, (ctx) => ops.rm(ctx, path));
    }
    privileged.close();
    const strip = (perms: NodePerms) => [perms[0]!, ...perms.slice(1).filter((p) => p.domid !== domid)];
    for (const path of [...this.tree.paths()]) {
      const node = this.tree.peek(path)!;
      if (node.perms.slice(1).some((p) => p.domid === domid))
        this.tree.put(path, { ...node, perms: strip(node.perms) });
    }
    for (const [path, perms] of this.specials) this.specials.set(path, strip(perms));
  }

  specialPerms(path: string): XsResult<NodePerms> {
    const perms = this.specials.get(path);
    return perms ? ok(perms) : fail("EINVAL", `unknown special path ${path}`);
  }

  /**
   * Special paths carry permissions like nodes (cxenstored keeps them as nodes): owned by domain 0 and
   * readable by no one else until domain 0 grants it, which decides who hears their events.
   */
  setSpecialPerms(caller: Connection, path: string, perms: NodePerms): XsResult<void> {
    const old = this.specials.get(path);
    if (!old) return fail("EINVAL", `unknown special path ${path}`);
    if (!rightsFor(caller.domid, old).owner)
      return fail("EACCES", `domain ${caller.domid} does not own ${path}`);
    if (!isPrivileged(caller.domid) && ownerOf(perms) !== ownerOf(old))
      return fail("EACCES", `domain ${caller.domid} may not give ${path} away`);
    this.specials.set(path, perms);
    return ok(undefined);
  }

  private fire(events: readonly ChangeEvent[]): void {
    for (const event of events) {
      for (const c of this.connections) {
        for (const w of c.watches) {
          const e = matchWatch(w, event, c.domid);
          if (e) c.deliver(e);
        }
      }
    }
  }
}
