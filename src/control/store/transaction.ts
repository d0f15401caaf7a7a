/**
 * Transactions: optimistic, validated at commit.
 *
 * TRANSACTION_START takes a snapshot of the tree ("when transaction is started whole db is copied";
 * here the copy shares node records, see tree.ts). Every operation in the transaction runs on the
 * snapshot, which records each path it touches and that path's generation at first touch, and keeps
 * the transaction's change events instead of firing them.
 *
 * TRANSACTION_END with T commits only if every touched path still has, in the live tree, the
 * generation it had when first touched; otherwise the answer is EAGAIN and nothing changes. Touched
 * paths include reads, absent nodes looked up, ancestors consulted for permissions, and parents whose
 * child lists changed, so a commit that succeeds is equivalent to running the whole transaction at the
 * instant of commit: committed history is serial in commit order. This is the conflict rule
 * xenstore.txt plans ("only writes or other commits which changed paths which were read or written")
 * and that cxenstored implements with generation counts.
 *
 *     live tree ──snapshot──▶ tx tree ── ops (recorded) ──▶ commit: all touched generations equal?
 *                                                            ├─ yes: copy dirty paths to live, fire events
 *                                                            └─ no:  EAGAIN, discard
 */
import { XsError } from "./errors.js";
import type { ChangeEvent } from "./operations.js";
import type { Tree } from "./tree.js";

export class Transaction {
  readonly tree: Tree;
  readonly events: ChangeEvent[] = [];

  constructor(
    readonly id: number,
    live: Tree,
  ) {
    this.tree = live.snapshot();
  }

  /** Applies the transaction to `live`, returning its events to fire; EAGAIN on conflict. */
  commit(live: Tree): readonly ChangeEvent[] {
    for (const [path, generation] of this.tree.accessed!) {
      if (live.generationOf(path) !== generation)
        throw new XsError("EAGAIN", `transaction ${this.id}: ${path} changed since the transaction read it`);
    }
    for (const path of this.tree.dirty!) {
      const node = this.tree.peek(path);
      if (node) live.put(path, node);
      else live.delete(path);
    }
    return this.events;
  }
}
