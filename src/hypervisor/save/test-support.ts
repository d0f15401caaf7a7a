/**
 * What the save/restore tests share: a console that counts the input bytes the guest took, so a
 * restored guest's console can be given the rest of the same input.
 */
import { BufferConsole, type ConsoleBackend } from "../../machine/devices/console.js";

export class CountingConsole implements ConsoleBackend {
  readonly buffer: BufferConsole;
  taken = 0;
  constructor(input: string) {
    this.buffer = new BufferConsole(input);
  }
  write(b: number): void {
    this.buffer.write(b);
  }
  read(): number {
    const b = this.buffer.read();
    if (b >= 0) this.taken++;
    return b;
  }
}
