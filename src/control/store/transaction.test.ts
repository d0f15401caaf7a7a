import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Connection } from "./connection.js";
import type { XsResult } from "./errors.js";
import { formatPerm } from "./permissions.js";
import { Store } from "./store.js";

function value<T>(r: XsResult<T>): T {
  if (!r.ok) assert.fail(`expected success, got ${r.errno}: ${r.detail}`);
  return r.value;
}

function errno<T>(r: XsResult<T>): string {
  return r.ok ? "OK" : r.errno;
}

/** The whole tree as text: path, value and permissions of every node, sorted. */
function dump(store: Store): string {
  const lines: string[] = [];
  for (const path of [...store.tree.paths()].sort()) {
    const node = store.tree.peek(path)!;
    lines.push(
      `${path} = ${new TextDecoder().decode(node.value)} [${node.perms.map(formatPerm)}] {${node.children.join(",")}}`,
    );
  }
  return lines.join("\n");
}

describe("transactions", () => {
  it("a transaction sees its own writes; others see none of them until commit", () => {
    const store = new Store();
    const a = store.connect(0);
    const b = store.connect(0);
    value(a.write("/x", "old"));
    const tx = value(a.transactionStart());
    value(a.write("/x", "new", tx));
    value(a.write("/y", "created", tx));
    assert.equal(value(a.readString("/x", tx)), "new");
    assert.equal(value(b.readString("/x")), "old");
    assert.equal(errno(b.read("/y")), "ENOENT");
    value(a.transactionEnd(tx, true));
    assert.equal(value(b.readString("/x")), "new");
    assert.equal(value(b.readString("/y")), "created");
  });

  it("a transaction reads the snapshot taken at its start, not later commits", () => {
    const store = new Store();
    const a = store.connect(0);
    value(a.write("/x", "1"));
    const tx = value(a.transactionStart());
    value(a.write("/x", "2"));
    assert.equal(value(a.readString("/x", tx)), "1");
  });

  it("committing after another change to a path the transaction read is EAGAIN and changes nothing", () => {
    const store = new Store();
    const a = store.connect(0);
    const b = store.connect(0);
    value(a.write("/counter", "1"));
    const ta = value(a.transactionStart());
    const tb = value(b.transactionStart());
    value(a.readString("/counter", ta));
    value(b.readString("/counter", tb));
    value(a.write("/counter", "2", ta));
    value(b.write("/counter", "2", tb));
    value(a.transactionEnd(ta, true));
    assert.equal(errno(b.transactionEnd(tb, true)), "EAGAIN");
    assert.equal(value(a.readString("/counter")), "2");
    assert.equal(b.transactions.size, 0, "the transaction id ends even on EAGAIN");
  });

  it("transactions touching disjoint paths both commit", () => {
    const store = new Store();
    const a = store.connect(0);
    value(a.mkdir("/p/a"));
    value(a.mkdir("/p/b"));
    const t1 = value(a.transactionStart());
    const t2 = value(a.transactionStart());
    value(a.write("/p/a/v", "1", t1));
    value(a.write("/p/b/v", "2", t2));
    value(a.transactionEnd(t1, true));
    value(a.transactionEnd(t2, true));
    assert.deepEqual(value(a.directory("/p/a")), ["v"]);
    assert.deepEqual(value(a.directory("/p/b")), ["v"]);
  });

  it("reading a node as absent conflicts with another commit creating it", () => {
    const store = new Store();
    const a = store.connect(0);
    value(a.mkdir("/q"));
    const tx = value(a.transactionStart());
    assert.equal(errno(a.read("/q/flag", tx)), "ENOENT");
    value(a.write("/q/other", "x", tx));
    value(a.write("/q/flag", "set"));
    assert.equal(errno(a.transactionEnd(tx, true)), "EAGAIN");
  });

  it("transaction ids are never 0 and TRANSACTION_END with F discards", () => {
    const store = new Store();
    const a = store.connect(0);
    const tx = value(a.transactionStart());
    assert.notEqual(tx, 0);
    value(a.write("/gone", "x", tx));
    value(a.transactionEnd(tx, false));
    assert.equal(errno(a.read("/gone")), "ENOENT");
  });
});

type Op =
  | { kind: "read" | "rm" | "mkdir" | "dir"; path: string }
  | { kind: "write"; path: string; value: string };

const PATHS = ["/k/a", "/k/b", "/k/a/x", "/k/c", "/k/c/y/z"];
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom("read", "rm", "mkdir", "dir"), path: fc.constantFrom(...PATHS) }),
  fc.record({
    kind: fc.constant("write"),
    path: fc.constantFrom(...PATHS),
    value: fc.constantFrom("1", "2", "3"),
  }),
) as fc.Arbitrary<Op>;

type Step = { who: "A" | "B"; op: Op } | { who: "D"; op: Op } | { who: "commitA" | "commitB" };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ who: fc.constantFrom("A", "B", "D"), op: opArb }) as fc.Arbitrary<Step>,
  fc.record({ who: fc.constantFrom("commitA", "commitB") }) as fc.Arbitrary<Step>,
);

function perform(c: Connection, op: Op, tx: number): string {
  switch (op.kind) {
    case "read": {
      const r = c.readString(op.path, tx);
      return r.ok ? `=${r.value}` : r.errno;
    }
    case "dir": {
      const r = c.directory(op.path, tx);
      return r.ok ? `[${r.value.join(",")}]` : r.errno;
    }
    case "write":
      return errno(c.write(op.path, op.value, tx));
    case "rm":
      return errno(c.rm(op.path, tx));
    case "mkdir":
      return errno(c.mkdir(op.path, tx));
  }
}

function initial(): { store: Store; conn: Connection } {
  const store = new Store();
  const conn = store.connect(0);
  value(conn.write("/k/a", "0"));
  value(conn.mkdir("/k/b"));
  return { store, conn };
}

describe("transaction isolation (property)", () => {
  it("any interleaving of two transactions and direct writes equals a serial execution in commit order", () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 30 }), (steps) => {
        const { store, conn: direct } = initial();
        const a = store.connect(0);
        const b = store.connect(0);
        const tx = { A: value(a.transactionStart()), B: value(b.transactionStart()) };
        const conns = { A: a, B: b };
        const results = { A: [] as string[], B: [] as string[] };
        const ops = { A: [] as Op[], B: [] as Op[] };
        const committed = { A: false, B: false };
        const ended = { A: false, B: false };
        // Serial units in the order they took effect: a direct op, or a committed transaction.
        const serial: Array<{ ops: Op[]; results: string[] }> = [];
        let directSinceStart = false;
        let firstCommitDone = false;
        const end = (who: "A" | "B") => {
          if (ended[who]) return;
          ended[who] = true;
          const r = conns[who].transactionEnd(tx[who], true);
          if (!firstCommitDone && !directSinceStart)
            assert.ok(r.ok, "the first commit with no interference succeeds");
          firstCommitDone = true;
          if (r.ok) {
            committed[who] = true;
            serial.push({ ops: ops[who], results: results[who] });
          } else assert.equal(r.errno, "EAGAIN");
        };
        for (const step of steps) {
          if (step.who === "commitA") end("A");
          else if (step.who === "commitB") end("B");
          else if (step.who === "D") {
            directSinceStart = true;
            serial.push({ ops: [step.op], results: [perform(direct, step.op, 0)] });
          } else if ("op" in step && !ended[step.who]) {
            const who = step.who;
            ops[who].push(step.op);
            results[who].push(perform(conns[who], step.op, tx[who]));
          }
        }
        end("A");
        end("B");

        const replay = initial();
        for (const unit of serial) {
          const replayed = unit.ops.map((op) => perform(replay.conn, op, 0));
          assert.deepEqual(replayed, unit.results, "each committed operation answers as in the serial run");
        }
        assert.equal(dump(store), dump(replay.store), "the committed state equals the serial run's");
      }),
      { numRuns: 500 },
    );
  });
});
