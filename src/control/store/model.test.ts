import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Store } from "./store.js";

/**
 * A deliberately naive model of xenstore.txt's tree semantics for one privileged client: a map from
 * path to value and ordered child names. The store must answer every operation as the model does.
 */
class Model {
  readonly nodes = new Map<string, { value: string; children: string[] }>([
    ["/", { value: "", children: [] }],
  ]);

  private parent(p: string): string {
    const i = p.lastIndexOf("/");
    return i === 0 ? "/" : p.slice(0, i);
  }

  private ensure(p: string, value: string): void {
    const parent = this.parent(p);
    if (!this.nodes.has(parent)) this.ensure(parent, "");
    this.nodes.get(parent)!.children.push(p.slice(p.lastIndexOf("/") + 1));
    this.nodes.set(p, { value, children: [] });
  }

  write(p: string, value: string): string {
    const n = this.nodes.get(p);
    if (n) n.value = value;
    else this.ensure(p, value);
    return "OK";
  }

  mkdir(p: string): string {
    if (!this.nodes.has(p)) this.ensure(p, "");
    return "OK";
  }

  rm(p: string): string {
    if (!this.nodes.has(p)) return this.nodes.has(this.parent(p)) ? "OK" : "ENOENT";
    for (const key of [...this.nodes.keys()])
      if (key === p || key.startsWith(`${p}/`)) this.nodes.delete(key);
    const parent = this.nodes.get(this.parent(p))!;
    parent.children = parent.children.filter((c) => c !== p.slice(p.lastIndexOf("/") + 1));
    return "OK";
  }

  read(p: string): string {
    const n = this.nodes.get(p);
    return n ? `=${n.value}` : "ENOENT";
  }

  directory(p: string): string {
    const n = this.nodes.get(p);
    return n ? `[${n.children.join(",")}]` : "ENOENT";
  }
}

const pathArb = fc
  .array(fc.constantFrom("a", "b", "c"), { minLength: 1, maxLength: 4 })
  .map((parts) => `/${parts.join("/")}`);
type Op =
  | { kind: "write"; path: string; value: string }
  | { kind: "mkdir" | "rm" | "read" | "directory"; path: string };
const opArb = fc.oneof(
  fc.record({ kind: fc.constant("write" as const), path: pathArb, value: fc.constantFrom("", "x", "yy") }),
  fc.record({
    kind: fc.constantFrom("mkdir" as const, "rm" as const, "read" as const, "directory" as const),
    path: pathArb,
  }),
) as fc.Arbitrary<Op>;

describe("the store against a simple model", () => {
  it("any sequence of write, mkdir, rm, read and directory answers as the model and leaves the same tree", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const store = new Store();
        const c = store.connect(0);
        const model = new Model();
        for (const op of ops) {
          let got: string;
          let want: string;
          switch (op.kind) {
            case "write": {
              const r = c.write(op.path, op.value);
              got = r.ok ? "OK" : r.errno;
              want = model.write(op.path, op.value);
              break;
            }
            case "mkdir":
            case "rm": {
              const r = c[op.kind](op.path);
              got = r.ok ? "OK" : r.errno;
              want = model[op.kind](op.path);
              break;
            }
            case "read": {
              const r = c.readString(op.path);
              got = r.ok ? `=${r.value}` : r.errno;
              want = model.read(op.path);
              break;
            }
            case "directory": {
              const r = c.directory(op.path);
              got = r.ok ? `[${r.value.join(",")}]` : r.errno;
              want = model.directory(op.path);
              break;
            }
          }
          assert.equal(got, want, `${op.kind} ${op.path}`);
        }
        assert.deepEqual([...store.tree.paths()].sort(), [...model.nodes.keys()].sort());
      }),
      { numRuns: 300 },
    );
  });
});
