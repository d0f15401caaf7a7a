/**
 * A connection: one client's view of the store. A guest has one (its ring, once introduced); domain 0
 * may open several (toolstack, daemon, backends). The connection owns its watches, its open
 * transactions and its queue of watch events; the tree, permissions and quotas belong to the Store.
 *
 * Every operation returns an XsResult carrying Xen's errno name on failure. Paths may be relative to
 * the domain's home /local/domain/<domid>. `tx` is the header's tx_id: 0 for none, else an id from
 * transactionStart() (an unknown id is ENOENT, as in cxenstored).
 */
import { fail, guard, type XsResult } from "./errors.js";
import * as ops from "./operations.js";
import { canonicalise, domainPath, isSpecial } from "./path.js";
import { type NodePerms, parsePerms } from "./permissions.js";
import { checkTransactionCount, checkWatchCount } from "./quota.js";
import type { Store } from "./store.js";
import type { Transaction } from "./transaction.js";
import { initialEvent, type Watch, type WatchEvent } from "./watch.js";

const encoder = new TextEncoder();

export type Value = Uint8Array | string;

export class Connection {
  readonly watches: Watch[] = [];
  readonly transactions = new Map<number, Transaction>();
  private readonly queue: WatchEvent[] = [];
  private closed = false;
  /** Told after an event is queued (the transport that carries events: a ring backend, a socket). */
  onEvent: (() => void) | undefined;

  constructor(
    readonly store: Store,
    readonly domid: number,
  ) {}

  read(path: string, tx = 0): XsResult<Uint8Array> {
    return this.run(tx, (ctx) => ops.read(ctx, this.resolve(path)));
  }

  /** READ decoded as UTF-8, for callers that store text (nearly all of them). */
  readString(path: string, tx = 0): XsResult<string> {
    const r = this.read(path, tx);
    return r.ok ? { ok: true, value: new TextDecoder().decode(r.value) } : r;
  }

  write(path: string, value: Value, tx = 0): XsResult<void> {
    const bytes = typeof value === "string" ? encoder.encode(value) : value;
    return this.run(tx, (ctx) => ops.write(ctx, this.resolve(path), bytes));
  }

  mkdir(path: string, tx = 0): XsResult<void> {
    return this.run(tx, (ctx) => ops.mkdir(ctx, this.resolve(path)));
  }

  rm(path: string, tx = 0): XsResult<void> {
    return this.run(tx, (ctx) => ops.rm(ctx, this.resolve(path)));
  }

  directory(path: string, tx = 0): XsResult<readonly string[]> {
    return this.run(tx, (ctx) => ops.directory(ctx, this.resolve(path)));
  }

  /** The children and the node's generation count, for DIRECTORY_PART's paging of long lists. */
  directoryWithGeneration(
    path: string,
    tx = 0,
  ): XsResult<{ generation: number; children: readonly string[] }> {
    return this.run(tx, (ctx) => ops.directoryWithGeneration(ctx, this.resolve(path)));
  }

  getPerms(path: string, tx = 0): XsResult<NodePerms> {
    const absolute = guard(() => this.resolve(path));
    if (absolute.ok && isSpecial(absolute.value)) return this.store.specialPerms(absolute.value);
    return this.run(tx, (ctx) => ops.getPerms(ctx, this.resolve(path)));
  }

  /** SET_PERMS; `perms` may be the wire's strings (`b1`, `r0`, ...). */
  setPerms(path: string, perms: NodePerms | readonly string[], tx = 0): XsResult<void> {
    const parsed = guard(() =>
      perms.length > 0 && typeof perms[0] === "string"
        ? parsePerms(perms as readonly string[])
        : (perms as NodePerms),
    );
    if (!parsed.ok) return parsed;
    if (parsed.value.length === 0) return fail("EINVAL", "permission list is empty");
    const absolute = guard(() => this.resolve(path));
    if (absolute.ok && isSpecial(absolute.value))
      return this.store.setSpecialPerms(this, absolute.value, parsed.value);
    return this.run(tx, (ctx) => ops.setPerms(ctx, this.resolve(path), parsed.value));
  }

  /** WATCH: fires once at once, then on every matching change; a duplicate path+token is EEXIST. */
  watch(path: string, token: string): XsResult<void> {
    return guard(() => {
      const watch: Watch = {
        path: this.resolve(path),
        token,
        relative: !path.startsWith("/") && !isSpecial(path),
      };
      if (this.watches.some((w) => w.path === watch.path && w.token === token))
        throw this.store.error("EEXIST", `watch on ${path} with token ${token} already set`);
      checkWatchCount(this.store.quotas, this.domid, this.watches.length);
      this.watches.push(watch);
      this.deliver(initialEvent(watch, this.domid));
    });
  }

  unwatch(path: string, token: string): XsResult<void> {
    return guard(() => {
      const absolute = this.resolve(path);
      const i = this.watches.findIndex((w) => w.path === absolute && w.token === token);
      if (i < 0) throw this.store.error("ENOENT", `no watch on ${path} with token ${token}`);
      this.watches.splice(i, 1);
    });
  }

  /** RESET_WATCHES: drops every watch and open transaction of this connection. */
  resetWatches(): XsResult<void> {
    this.watches.length = 0;
    this.transactions.clear();
    return { ok: true, value: undefined };
  }

  transactionStart(): XsResult<number> {
    return guard(() => {
      checkTransactionCount(this.store.quotas, this.domid, this.transactions.size);
      const t = this.store.beginTransaction();
      this.transactions.set(t.id, t);
      return t.id;
    });
  }

  /** TRANSACTION_END: `commit` false discards; true applies or answers EAGAIN. Either way the id ends. */
  transactionEnd(tx: number, commit: boolean): XsResult<void> {
    const t = this.transactions.get(tx);
    if (!t) return fail("ENOENT", `domain ${this.domid} has no transaction ${tx}`);
    this.transactions.delete(tx);
    if (!commit) return { ok: true, value: undefined };
    return guard(() => this.store.commit(t));
  }

  introduce(domid: number, mfn: number, evtchn: number): XsResult<Connection> {
    return guard(() => this.store.introduce(this, domid, mfn, evtchn));
  }

  release(domid: number): XsResult<void> {
    return guard(() => this.store.release(this, domid));
  }

  isDomainIntroduced(domid: number): XsResult<boolean> {
    return { ok: true, value: this.store.isIntroduced(domid) };
  }

  getDomainPath(domid: number): XsResult<string> {
    return { ok: true, value: domainPath(domid) };
  }

  /** Removes and returns the queued watch events, oldest first. */
  takeEvents(): WatchEvent[] {
    return this.queue.splice(0, this.queue.length);
  }

  get pendingEvents(): number {
    return this.queue.length;
  }

  /** Called by the Store when it has an event for this connection. */
  deliver(event: WatchEvent): void {
    if (this.closed) return;
    this.queue.push(event);
    this.onEvent?.();
  }

  /** The connection is gone (domain released or client closed): no more events, no transactions. */
  close(): void {
    this.closed = true;
    this.watches.length = 0;
    this.transactions.clear();
    this.store.disconnect(this);
  }

  private resolve(path: string): string {
    return canonicalise(path, this.domid);
  }

  private run<T>(tx: number, body: (ctx: ops.OpContext) => T): XsResult<T> {
    if (tx !== 0 && !this.transactions.has(tx))
      return fail("ENOENT", `domain ${this.domid} has no transaction ${tx}`);
    return guard(() => this.store.apply(this, this.transactions.get(tx), body));
  }
}
