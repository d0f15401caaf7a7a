import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { accountSlice, acctStart, burnCredits, type CreditPool } from "./credit-acct.js";
import { CSCHED_PRI_TS_OVER, CSCHED_PRI_TS_UNDER, type Dom, type Unit } from "./credit-defs.js";
import { Ledger } from "./ledger.js";

const MS = 1_000_000;

/** A pool for `pcpus` pCPUs of 30 ms slices, and active units of domains with the given weights/caps. */
function setup(pcpus: number, doms: { weight: number; cap?: number; units?: number }[]) {
  const ledger = new Ledger(pcpus);
  const pool: CreditPool = {
    activeDoms: [],
    weight: 0,
    creditBalance: 0,
    credit: 300 * pcpus,
    creditsPerTslice: 300,
    runqSort: 0,
  };
  let vcpu = 0;
  const units: Unit[][] = doms.map((spec, i) => {
    const sdom: Dom = {
      d: ledger.addDomain(i + 1, { weight: spec.weight, cap: spec.cap ?? 0 }),
      activeUnits: [],
    };
    return Array.from({ length: spec.units ?? 1 }, () => {
      const u: Unit = {
        v: ledger.addVcpu(++vcpu, i + 1),
        sdom,
        credit: 0,
        residual: 0,
        startTime: 0,
        stateEntry: 0,
        lastSchedTime: 0,
        pri: CSCHED_PRI_TS_UNDER,
        parked: false,
        yielding: false,
        migrating: false,
        pinned: false,
        moveAway: false,
        active: false,
        awake: true,
        onRunq: false,
        processor: 0,
      };
      acctStart(pool, u);
      return u;
    });
  });
  return { pool, units };
}

const noParking = { park: () => assert.fail("nothing should be parked"), unpark: () => {} };

describe("Credit accounting", () => {
  it("hands out one slice of credit per pCPU in proportion to weight, rounding up like Xen", () => {
    const { pool, units } = setup(1, [{ weight: 256 }, { weight: 512 }, { weight: 1024 }]);
    accountSlice(pool, noParking);
    assert.deepEqual(
      units.map(([u]) => u.credit),
      [43, 86, 172],
    );
    assert.equal(pool.runqSort, 1, "pCPUs are told to re-sort");
  });

  it("splits a domain's credit evenly over its active vCPUs", () => {
    const { pool, units } = setup(2, [
      { weight: 256, units: 2 },
      { weight: 256, units: 1 },
    ]);
    accountSlice(pool, noParking);
    // weight × active units: domain 1 has 2/3 of 600 credits, 200 per vCPU; domain 2 the rest.
    assert.deepEqual(
      units.flat().map((u) => u.credit),
      [200, 200, 200],
    );
  });

  it("limits a capped domain to cap % of a slice and gives what it cannot take to the others", () => {
    const { pool, units } = setup(1, [{ weight: 256, cap: 25 }, { weight: 256 }]);
    // The capped domain is first in the active list when it was activated last.
    assert.equal(pool.activeDoms[0], units[1][0].sdom);
    pool.activeDoms.reverse();
    accountSlice(pool, noParking);
    assert.equal(units[0][0].credit, 75, "25 % of 300");
    assert.equal(units[1][0].credit, 225, "the rest goes to the uncapped domain");
  });

  it("forgives debt beyond one slice, retires hoarders with half their credit, and sets UNDER/OVER", () => {
    const { pool, units } = setup(1, [{ weight: 256 }, { weight: 256 }]);
    const [[debtor], [hoarder]] = units;
    debtor.credit = -1000;
    hoarder.credit = 400;
    accountSlice(pool, noParking);
    assert.equal(debtor.credit, -300);
    assert.equal(debtor.pri, CSCHED_PRI_TS_OVER);
    assert.equal(hoarder.credit, Math.trunc((400 + 150) / 2));
    assert.equal(hoarder.pri, CSCHED_PRI_TS_UNDER);
    assert.equal(hoarder.active, false);
    assert.deepEqual(pool.activeDoms, [debtor.sdom]);
    assert.equal(pool.weight, 256);
  });

  it("parks a capped vCPU that overspent its per-vCPU cap and releases it once its credit is back", () => {
    const { pool, units } = setup(1, [{ weight: 256, cap: 10 }]);
    const [[u]] = units;
    const parked: Unit[] = [];
    const hooks = {
      park: (x: Unit) => {
        x.parked = true;
        parked.push(x);
      },
      unpark: (x: Unit) => {
        x.parked = false;
      },
    };
    u.credit = -200; // ran far past its 30-credit share
    accountSlice(pool, hooks);
    assert.deepEqual(parked, [u]);
    assert.equal(u.credit, -170);
    for (let i = 0; i < 5; i++) accountSlice(pool, hooks);
    assert.equal(u.parked, true, "still in debt after 5 slices at 30 credits each");
    accountSlice(pool, hooks);
    assert.equal(u.credit, 10);
    assert.equal(u.parked, false);
  });

  it("burns 10 credits per ms run, however the run is cut into pieces", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 3 * MS }), { minLength: 1, maxLength: 200 }),
        (pieces) => {
          const { units } = setup(1, [{ weight: 256 }]);
          const [[u]] = units;
          let now = 0;
          for (const piece of pieces) {
            now += piece;
            burnCredits(u, now);
          }
          const exact = (now * 10) / MS;
          // Whole credits only: the remainder is carried, never lost or double-counted.
          assert.ok(
            -u.credit >= Math.floor(exact) && -u.credit <= Math.ceil(exact) + 1,
            `${-u.credit} vs ${exact}`,
          );
        },
      ),
    );
  });
});
