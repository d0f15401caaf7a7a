/**
 * A shell session on a live domain of the guest kernel, for tests: type a line, run the host until the
 * output (or the hypervisor's state) shows what the test waits for.
 */
import assert from "node:assert/strict";
import type { BufferConsole } from "../../machine/devices/console.js";
import type { Domain } from "../domain.js";
import type { Hypervisor } from "../hypervisor.js";
import { MAX_INSNS } from "./kernel-domains.js";

export const PROMPT_READY = "type help for the commands\n$ ";

export class ShellSession {
  constructor(
    readonly hv: Hypervisor,
    readonly domain: Domain,
    readonly console: BufferConsole,
  ) {}

  get output(): string {
    return this.console.text();
  }

  /** Types `line`; returns what the guest printed until its next prompt. */
  type(line: string): string {
    const from = this.output.length;
    this.console.feed(`${line}\n`);
    return this.until(() => this.output.indexOf("\n$ ", from + line.length) >= 0).slice(from);
  }

  /** Runs in steps until `done()`; fails on an end of the run, or after `budget` more instructions. */
  until(done: () => boolean, budget = MAX_INSNS): string {
    const m = this.hv.machine;
    const limit = m.retired + budget;
    while (!done()) {
      if (m.exit?.kind === "limit") m.exit = undefined;
      const exit = this.hv.runSync({ maxInsns: Math.min(limit, m.retired + 500_000) });
      if (exit.kind !== "limit" || m.retired >= limit)
        assert.fail(`the run ended (${exit.kind}: ${exit.message}) before it was done:\n${this.output}`);
    }
    return this.output;
  }
}
