/**
 * Console backends: where the bytes of a guest's serial console (UART or HTIF) come from and go to.
 *
 * Devices pull input with `read()` only when they have room for a byte, so a backend queues input
 * until asked and never drops it. Two backends: `BufferConsole` for tests and scripted runs, and
 * `StdioConsole` for a person at a terminal.
 */

export interface ConsoleBackend {
  /** Sends one output byte (0..255) from the guest. */
  write(byte: number): void;
  /** The next input byte for the guest, or -1 if none is waiting. */
  read(): number;
}

/** Collects output in memory and serves input from a given string (as UTF-8 bytes). */
export class BufferConsole implements ConsoleBackend {
  private out: number[] = [];
  private input: Uint8Array;
  private inputPos = 0;

  constructor(input = "") {
    this.input = Buffer.from(input, "utf8");
  }

  write(byte: number): void {
    this.out.push(byte & 0xff);
  }

  read(): number {
    if (this.inputPos >= this.input.length) return -1;
    return this.input[this.inputPos++];
  }

  /** Queues more input after whatever is still unread. */
  feed(text: string): void {
    const rest = this.input.subarray(this.inputPos);
    this.input = Buffer.concat([rest, Buffer.from(text, "utf8")]);
    this.inputPos = 0;
  }

  /** Everything written so far, as bytes. */
  bytes(): Buffer {
    return Buffer.from(this.out);
  }

  /** Everything written so far, decoded as UTF-8. */
  text(): string {
    return this.bytes().toString("utf8");
  }
}

/** Output is flushed at least this often, so a guest printing byte by byte stays responsive. */
const STDIO_FLUSH_MS = 5;
/** Output is also flushed whenever this many bytes are waiting. */
const STDIO_FLUSH_BYTES = 4096;
/** Ctrl-A, the escape prefix QEMU's `-serial mon:stdio` uses; Ctrl-A x quits, Ctrl-A Ctrl-A sends one. */
const ESCAPE = 0x01;

export interface StdioConsoleOptions {
  /** Called on Ctrl-A x in raw mode. Default: restore the terminal and raise SIGINT. */
  onQuit?: () => void;
}

/**
 * The process's stdin/stdout. On a TTY, stdin is put in raw mode so the guest sees every key
 * (Ctrl-C included); Ctrl-A x is the way out, as in QEMU. `close()` must be called to restore the
 * terminal and let Node exit.
 */
export class StdioConsole implements ConsoleBackend {
  private pending: number[] = [];
  private outBuf = Buffer.alloc(STDIO_FLUSH_BYTES);
  private outLen = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly rawMode: boolean;
  private sawEscape = false;
  private closed = false;
  private readonly onData = (chunk: Buffer | string): void => this.receive(chunk);
  private readonly onQuit: () => void;

  constructor(options: StdioConsoleOptions = {}) {
    this.onQuit =
      options.onQuit ??
      (() => {
        this.close();
        process.kill(process.pid, "SIGINT");
      });
    const stdin = process.stdin;
    this.rawMode = stdin.isTTY === true;
    if (this.rawMode) stdin.setRawMode(true);
    stdin.on("data", this.onData);
    stdin.resume();
  }

  write(byte: number): void {
    this.outBuf[this.outLen++] = byte;
    if (this.outLen === this.outBuf.length) this.flush();
    else if (this.timer === undefined) this.timer = setTimeout(() => this.flush(), STDIO_FLUSH_MS);
  }

  read(): number {
    return this.pending.length > 0 ? this.pending.shift()! : -1;
  }

  /** Writes out any buffered output now. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.outLen === 0) return;
    process.stdout.write(Buffer.from(this.outBuf.subarray(0, this.outLen)));
    this.outLen = 0;
  }

  /** Flushes output, stops reading stdin and restores the terminal mode. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    const stdin = process.stdin;
    stdin.off("data", this.onData);
    if (this.rawMode) stdin.setRawMode(false);
    stdin.pause();
  }

  private receive(chunk: Buffer | string): void {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    for (const b of bytes) {
      if (!this.rawMode) {
        this.pending.push(b);
      } else if (this.sawEscape) {
        this.sawEscape = false;
        if (b === 0x78 /* x */) this.onQuit();
        else if (b === ESCAPE) this.pending.push(ESCAPE);
      } else if (b === ESCAPE) {
        this.sawEscape = true;
      } else {
        this.pending.push(b);
      }
    }
  }
}
