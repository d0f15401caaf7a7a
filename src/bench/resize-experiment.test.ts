/**
 * The resizing experiment, short: its timeline follows each step (vCPUs online, memory backed) while
 * the workload keeps making progress.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatResizeTimeline, runResizeExperiment } from "./resize-experiment.js";

describe("rvisor experiment resize", () => {
  it("moves a trap domain's vCPUs and memory step by step under the workload", () => {
    const r = runResizeExperiment({
      mode: "trap",
      stepMs: 300,
      sampleMs: 100,
      steps: [
        { label: "start" },
        { label: "vcpu-set 4", vcpus: 4 },
        { label: "mem-set 16M", memoryMiB: 16 },
        { label: "mem-set 32M", memoryMiB: 32 },
        { label: "vcpu-set 1", vcpus: 1 },
      ],
    });
    const last = (step: string) => r.samples.filter((s) => s.step === step).at(-1)!;
    assert.equal(r.samples.length, 15);
    assert.deepEqual(
      ["start", "vcpu-set 4", "mem-set 16M", "mem-set 32M", "vcpu-set 1"].map((s) => [
        last(s).vcpusOnline,
        last(s).actualMiB,
      ]),
      [
        [1, 32],
        [4, 32],
        [4, 16],
        [4, 32],
        [1, 32],
      ],
    );
    for (const s of r.samples) assert.ok(s.roundsPerS > 0, `no progress at ${s.timeMs} ms`);
    // Four workers on four vCPUs do more than on one.
    assert.ok(last("vcpu-set 4").roundsPerS > 2 * last("start").roundsPerS, formatResizeTimeline(r));
    assert.match(formatResizeTimeline(r), /^\s+\d+\s+mem-set 16M\s+16\.0\s+\d+\.\d\s+4\s+\d+$/m);
  });
});
