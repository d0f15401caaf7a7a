/** The host frames shadow tables (shadow.ts) are made of. */
import { PAGE_SHIFT } from "../../machine/params.js";
import type { Ram } from "../../machine/ram.js";
import type { HostFrame } from "./addresses.js";
import { type FrameAllocator, HYPERVISOR } from "./frames.js";

/**
 * Host frames for shadow tables, owned by the hypervisor, recycled (zeroed) rather than freed while
 * domains run; `trim` gives the unused ones back to the host when a domain goes away.
 */
export class ShadowPool {
  private readonly free: HostFrame[] = [];
  /** Frames in use as shadow tables now. */
  inUse = 0;
  /** Frames the pool holds from the allocator (in use + free). */
  held = 0;

  constructor(
    private readonly allocator: FrameAllocator,
    private readonly ram: Ram,
  ) {}

  alloc(): HostFrame {
    let f = this.free.pop();
    if (f === undefined) {
      [f] = this.allocator.alloc(1, HYPERVISOR); // zeroed by the allocator
      this.held++;
    } else {
      const off = ((f << PAGE_SHIFT) - this.ram.base) >>> 2;
      this.ram.i32.fill(0, off, off + 1024);
    }
    this.inUse++;
    return f;
  }

  release(f: HostFrame): void {
    this.free.push(f);
    this.inUse--;
  }

  /**
   * Gives every frame not in use back to the allocator (a domain was destroyed: the host's free memory
   * is what it was before that domain's shadows were made).
   */
  trim(): void {
    if (this.free.length === 0) return;
    this.allocator.free(this.free, HYPERVISOR);
    this.held -= this.free.length;
    this.free.length = 0;
  }
}
