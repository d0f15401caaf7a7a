/**
 * An NS16550A UART as QEMU emulates it (hw/char/serial.c), registers one byte apart:
 *
 *   off  read                      write                    (DLAB = LCR bit 7)
 *   0    RBR receive buffer        THR transmit holding     DLAB=1: DLL divisor low
 *   1    IER interrupt enable      IER                      DLAB=1: DLM divisor high
 *   2    IIR interrupt identity    FCR FIFO control
 *   3    LCR line control          LCR
 *   4    MCR modem control         MCR
 *   5    LSR line status           (ignored)
 *   6    MSR modem status          (ignored)
 *   7    SCR scratch               SCR
 *
 * Transmission is instantaneous: a byte written to THR goes straight to the console backend, so THR
 * and the transmitter are empty again at once and the THR-empty interrupt is re-armed.
 * Reception: `poll()` (every time slice) pulls bytes from the backend while there is room — one byte
 * without FIFO, up to 16 with it. The character timeout of FIFO mode (data below the trigger level and
 * nothing happening for 4 character times) is modelled as one quiet poll with data waiting.
 *
 * IIR reports the highest-priority cause, as serial_update_irq does:
 *   receiver line status (0x6) > character timeout (0xc) > received data (0x4)
 *   > THR empty (0x2) > modem status (0x0); 0x1 = none; bits 7:6 = 11 when FIFOs are on.
 * Reading IIR while it reports THR empty clears that cause; writing THR or turning IER.ETBEI on
 * re-evaluates it.
 */
import type { AccessSize, Device, IrqLine } from "../bus.js";
import type { ConsoleBackend } from "./console.js";
import { DeviceStateError, stateBool, stateInt, stateInts } from "./snapshot.js";

// Register offsets
const RBR_THR_DLL = 0;
const IER_DLM = 1;
const IIR_FCR = 2;
const LCR = 3;
const MCR = 4;
const LSR = 5;
const MSR = 6;
const SCR = 7;
const REGISTERS = 8;

// IER
const IER_ERBFI = 0x01; // received data available
const IER_ETBEI = 0x02; // THR empty
const IER_ELSI = 0x04; // receiver line status
const IER_EDSSI = 0x08; // modem status

// IIR
const IIR_NO_INT = 0x01;
const IIR_ID = 0x0e;
const IIR_MSI = 0x00;
const IIR_THRI = 0x02;
const IIR_RDI = 0x04;
const IIR_RLSI = 0x06;
const IIR_CTI = 0x0c;
const IIR_FIFO_ENABLED = 0xc0;

// FCR
const FCR_FE = 0x01; // FIFO enable
const FCR_RFR = 0x02; // receiver FIFO reset
const FCR_XFR = 0x04; // transmitter FIFO reset
const FCR_ITL = 0xc0; // receiver trigger level
const FCR_STORED = 0xc9; // bits QEMU keeps (FE, DMA mode, trigger level)

// LCR
const LCR_DLAB = 0x80;

// MCR
const MCR_DTR = 0x01;
const MCR_RTS = 0x02;
const MCR_OUT2 = 0x08;
const MCR_LOOP = 0x10;
const MCR_WRITABLE = 0x1f;

// LSR
const LSR_DR = 0x01; // data ready
const LSR_OE = 0x02; // overrun error
const LSR_BI = 0x10; // break interrupt
const LSR_THRE = 0x20; // THR empty
const LSR_TEMT = 0x40; // transmitter empty
const LSR_INT_ANY = 0x1e; // OE | PE | FE | BI

// MSR
const MSR_CTS = 0x10;
const MSR_DSR = 0x20;
const MSR_DCD = 0x80;
const MSR_ANY_DELTA = 0x0f;

const FIFO_LENGTH = 16;
/** Receiver trigger levels selected by FCR bits 7:6. */
const TRIGGER_LEVELS = [1, 4, 8, 14];

/**
 * Everything a 16550 holds, as plain data (save/restore, migration): the registers by their data-sheet
 * names, the divisor latch, the receive FIFO's bytes, and the interrupt conditions the model tracks
 * beside IIR. What the console backend has queued is the backend's, not the UART's.
 */
export interface UartState {
  rbr: number;
  ier: number;
  iir: number;
  fcr: number;
  lcr: number;
  mcr: number;
  lsr: number;
  msr: number;
  scr: number;
  divider: number;
  rxFifo: number[];
  triggerLevel: number;
  thrPending: boolean;
  timeoutPending: boolean;
  rxActivity: boolean;
  irqLevel: boolean;
}

export class Uart16550 implements Device {
  readonly name = "uart16550";
  private rbr = 0;
  private ier = 0;
  private iir = IIR_NO_INT;
  private fcr = 0;
  private lcr = 0;
  private mcr = MCR_OUT2;
  private lsr = LSR_TEMT | LSR_THRE;
  private msr = MSR_DCD | MSR_DSR | MSR_CTS;
  private scr = 0;
  /** 9600 baud from QEMU's 1.8432 MHz clock, the reset value. */
  private divider = 0x0c;
  private readonly rxFifo: number[] = [];
  private triggerLevel = 1;
  private thrPending = false;
  private timeoutPending = false;
  /** Set when data arrives or is read; a poll that finds it clear with data waiting times out. */
  private rxActivity = false;
  private irqLevel = false;

  constructor(
    private readonly irq: IrqLine,
    private readonly console: ConsoleBackend,
  ) {}

  snapshot(): UartState {
    return {
      rbr: this.rbr,
      ier: this.ier,
      iir: this.iir,
      fcr: this.fcr,
      lcr: this.lcr,
      mcr: this.mcr,
      lsr: this.lsr,
      msr: this.msr,
      scr: this.scr,
      divider: this.divider,
      rxFifo: [...this.rxFifo],
      triggerLevel: this.triggerLevel,
      thrPending: this.thrPending,
      timeoutPending: this.timeoutPending,
      rxActivity: this.rxActivity,
      irqLevel: this.irqLevel,
    };
  }

  /**
   * Takes back a snapshot's state. Every field is checked first: a bad one throws DeviceStateError and
   * changes nothing. The interrupt line is not driven: `irqLevel` is what the PLIC was last told, and
   * the PLIC's own state holds it.
   */
  restore(s: UartState): void {
    const byte = (f: keyof UartState) => stateInt(f, s[f], 0, 0xff);
    const next = {
      rbr: byte("rbr"),
      ier: stateInt("ier", s.ier, 0, 0x0f),
      iir: byte("iir"),
      fcr: stateInt("fcr", s.fcr, 0, FCR_STORED),
      lcr: byte("lcr"),
      mcr: stateInt("mcr", s.mcr, 0, MCR_WRITABLE),
      lsr: byte("lsr"),
      msr: byte("msr"),
      scr: byte("scr"),
      divider: stateInt("divider", s.divider, 0, 0xffff),
      rxFifo: stateInts("rxFifo", s.rxFifo, { atMost: FIFO_LENGTH }, 0xff),
      triggerLevel: stateInt("triggerLevel", s.triggerLevel, 1, FIFO_LENGTH),
      thrPending: stateBool("thrPending", s.thrPending),
      timeoutPending: stateBool("timeoutPending", s.timeoutPending),
      rxActivity: stateBool("rxActivity", s.rxActivity),
      irqLevel: stateBool("irqLevel", s.irqLevel),
    };
    if (!TRIGGER_LEVELS.includes(next.triggerLevel))
      throw new DeviceStateError(
        `triggerLevel: ${next.triggerLevel} is not one of ${TRIGGER_LEVELS.join(", ")}`,
      );
    this.rbr = next.rbr;
    this.ier = next.ier;
    this.iir = next.iir;
    this.fcr = next.fcr;
    this.lcr = next.lcr;
    this.mcr = next.mcr;
    this.lsr = next.lsr;
    this.msr = next.msr;
    this.scr = next.scr;
    this.divider = next.divider;
    this.rxFifo.length = 0;
    this.rxFifo.push(...next.rxFifo);
    this.triggerLevel = next.triggerLevel;
    this.thrPending = next.thrPending;
    this.timeoutPending = next.timeoutPending;
    this.rxActivity = next.rxActivity;
    this.irqLevel = next.irqLevel;
  }

  /** Pulls waiting input from the backend into the receiver and updates the interrupt. */
  poll(): void {
    if ((this.mcr & MCR_LOOP) !== 0) return; // in loopback the receiver hears only the transmitter
    let received = false;
    while (this.canReceive()) {
      const b = this.console.read();
      if (b < 0) break;
      this.receive(b);
      received = true;
    }
    if (!received && !this.rxActivity && this.fifoEnabled() && this.rxFifo.length > 0) {
      this.timeoutPending = true;
    }
    this.rxActivity = false;
    this.updateIrq();
  }

  /** Wider accesses become byte accesses, lowest address first, as QEMU splits them. */
  read(offset: number, size: AccessSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readByte(offset + i) << (8 * i);
    return v >>> 0;
  }

  write(offset: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) this.writeByte(offset + i, (value >>> (8 * i)) & 0xff);
  }

  private readByte(reg: number): number {
    switch (reg) {
      case RBR_THR_DLL:
        if ((this.lcr & LCR_DLAB) !== 0) return this.divider & 0xff;
        return this.readRbr();
      case IER_DLM:
        return (this.lcr & LCR_DLAB) !== 0 ? this.divider >>> 8 : this.ier;
      case IIR_FCR: {
        const v = this.iir;
        if ((v & IIR_ID) === IIR_THRI) {
          this.thrPending = false;
          this.updateIrq();
        }
        return v;
      }
      case LCR:
        return this.lcr;
      case MCR:
        return this.mcr;
      case LSR: {
        const v = this.lsr;
        if ((this.lsr & (LSR_BI | LSR_OE)) !== 0) {
          this.lsr &= ~(LSR_BI | LSR_OE);
          this.updateIrq();
        }
        return v;
      }
      case MSR:
        if ((this.mcr & MCR_LOOP) !== 0) {
          // Loopback wires the modem outputs to the inputs: RTS→CTS, DTR→DSR, OUT1→RI, OUT2→DCD.
          return ((this.mcr & 0x0c) << 4) | ((this.mcr & MCR_RTS) << 3) | ((this.mcr & MCR_DTR) << 5);
        } else {
          const v = this.msr;
          if ((this.msr & MSR_ANY_DELTA) !== 0) {
            this.msr &= 0xf0;
            this.updateIrq();
          }
          return v;
        }
      case SCR:
        return this.scr;
      default:
        return 0; // the rest of the UART's window decodes nothing
    }
  }

  private writeByte(reg: number, v: number): void {
    switch (reg) {
      case RBR_THR_DLL:
        if ((this.lcr & LCR_DLAB) !== 0) this.divider = (this.divider & 0xff00) | v;
        else this.transmit(v);
        return;
      case IER_DLM:
        if ((this.lcr & LCR_DLAB) !== 0) {
          this.divider = (this.divider & 0x00ff) | (v << 8);
        } else {
          const changed = (this.ier ^ v) & 0x0f;
          this.ier = v & 0x0f;
          // Turning ETBEI on with THR empty raises the THR-empty interrupt (Windows and Linux rely
          // on it; QEMU and Bochs resample on the rising edge only).
          if ((changed & IER_ETBEI) !== 0) {
            this.thrPending = (this.ier & IER_ETBEI) !== 0 && (this.lsr & LSR_THRE) !== 0;
          }
          if (changed !== 0) this.updateIrq();
        }
        return;
      case IIR_FCR:
        this.writeFcr(v);
        return;
      case LCR:
        this.lcr = v;
        return;
      case MCR:
        this.mcr = v & MCR_WRITABLE;
        return;
      case SCR:
        this.scr = v;
        return;
      default:
        return; // LSR and MSR are read-only here, as in QEMU
    }
  }

  private readRbr(): number {
    let v: number;
    if (this.fifoEnabled()) {
      v = this.rxFifo.length > 0 ? this.rxFifo.shift()! : 0;
      if (this.rxFifo.length === 0) this.lsr &= ~(LSR_DR | LSR_BI);
      this.timeoutPending = false;
      this.rxActivity = true;
    } else {
      v = this.rbr;
      this.lsr &= ~(LSR_DR | LSR_BI);
    }
    this.updateIrq();
    return v;
  }

  private transmit(byte: number): void {
    this.thrPending = false;
    this.lsr &= ~(LSR_THRE | LSR_TEMT);
    this.updateIrq();
    if ((this.mcr & MCR_LOOP) !== 0) {
      this.receive(byte);
    } else {
      this.console.write(byte);
    }
    this.lsr |= LSR_THRE | LSR_TEMT;
    this.thrPending = true;
    this.updateIrq();
  }

  private writeFcr(v: number): void {
    // Switching the FIFOs on or off flushes both, as on the real part.
    if (((v ^ this.fcr) & FCR_FE) !== 0) v |= FCR_RFR | FCR_XFR;
    if ((v & FCR_RFR) !== 0) {
      this.lsr &= ~(LSR_DR | LSR_BI);
      this.timeoutPending = false;
      this.rxFifo.length = 0;
    }
    if ((v & FCR_XFR) !== 0) {
      this.lsr |= LSR_THRE;
      this.thrPending = true;
    }
    this.fcr = v & FCR_STORED;
    if ((this.fcr & FCR_FE) !== 0) {
      this.iir |= IIR_FIFO_ENABLED;
      this.triggerLevel = TRIGGER_LEVELS[(this.fcr & FCR_ITL) >>> 6];
    } else {
      this.iir &= ~IIR_FIFO_ENABLED;
    }
    this.updateIrq();
  }

  private fifoEnabled(): boolean {
    return (this.fcr & FCR_FE) !== 0;
  }

  private canReceive(): boolean {
    return this.fifoEnabled() ? this.rxFifo.length < FIFO_LENGTH : (this.lsr & LSR_DR) === 0;
  }

  private receive(byte: number): void {
    if (this.fifoEnabled()) {
      if (this.rxFifo.length < FIFO_LENGTH) this.rxFifo.push(byte);
      else this.lsr |= LSR_OE;
    } else {
      if ((this.lsr & LSR_DR) !== 0) this.lsr |= LSR_OE;
      this.rbr = byte;
    }
    this.lsr |= LSR_DR;
    this.rxActivity = true;
    this.updateIrq();
  }

  private updateIrq(): void {
    let id = IIR_NO_INT;
    if ((this.ier & IER_ELSI) !== 0 && (this.lsr & LSR_INT_ANY) !== 0) {
      id = IIR_RLSI;
    } else if ((this.ier & IER_ERBFI) !== 0 && this.timeoutPending) {
      id = IIR_CTI;
    } else if (
      (this.ier & IER_ERBFI) !== 0 &&
      (this.lsr & LSR_DR) !== 0 &&
      (!this.fifoEnabled() || this.rxFifo.length >= this.triggerLevel)
    ) {
      id = IIR_RDI;
    } else if ((this.ier & IER_ETBEI) !== 0 && this.thrPending) {
      id = IIR_THRI;
    } else if ((this.ier & IER_EDSSI) !== 0 && (this.msr & MSR_ANY_DELTA) !== 0) {
      id = IIR_MSI;
    }
    this.iir = id | (this.iir & 0xf0);
    const level = id !== IIR_NO_INT;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq(level);
    }
  }
}

/** Register offsets, for tests and firmware written in TypeScript. */
export const UART_REG = { RBR_THR_DLL, IER_DLM, IIR_FCR, LCR, MCR, LSR, MSR, SCR, REGISTERS } as const;
