import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BufferConsole } from "./console.js";
import { UART_REG as R, Uart16550 } from "./uart16550.js";

function setup(input = "") {
  const console = new BufferConsole(input);
  const levels: boolean[] = [];
  let level = false;
  const uart = new Uart16550((l) => {
    level = l;
    levels.push(l);
  }, console);
  const rd = (reg: number) => uart.read(reg, 1);
  const wr = (reg: number, v: number) => uart.write(reg, 1, v);
  return { uart, console, levels, irq: () => level, rd, wr };
}

describe("Uart16550", () => {
  it("comes out of reset as QEMU's: THR and transmitter empty, no interrupt, OUT2 set", () => {
    const { rd } = setup();
    assert.equal(rd(R.LSR), 0x60);
    assert.equal(rd(R.IIR_FCR), 0x01);
    assert.equal(rd(R.IER_DLM), 0);
    assert.equal(rd(R.MCR), 0x08);
    assert.equal(rd(R.MSR), 0xb0);
  });

  it("sends bytes written to THR to the console", () => {
    const { wr, console, rd } = setup();
    for (const c of Buffer.from("hi\n")) wr(R.RBR_THR_DLL, c);
    assert.equal(console.text(), "hi\n");
    assert.equal(rd(R.LSR) & 0x60, 0x60);
  });

  it("maps DLL/DLM over THR/IER while LCR.DLAB is set", () => {
    const { wr, rd, console } = setup();
    wr(R.LCR, 0x83);
    wr(R.RBR_THR_DLL, 0x01);
    wr(R.IER_DLM, 0x00);
    assert.equal(rd(R.RBR_THR_DLL), 0x01);
    assert.equal(console.text(), "", "a divisor write is not output");
    wr(R.LCR, 0x03);
    assert.equal(rd(R.LCR), 0x03);
    assert.equal(rd(R.IER_DLM), 0, "IER untouched by the DLM write");
    wr(R.SCR, 0x5a);
    assert.equal(rd(R.SCR), 0x5a);
  });

  it("receives one byte at a time without FIFO and reports overrun in LSR", () => {
    const { uart, rd } = setup("ab");
    uart.poll();
    assert.equal(rd(R.LSR) & 0x01, 1);
    uart.poll(); // no room: 'b' stays in the backend
    assert.equal(rd(R.RBR_THR_DLL), "a".charCodeAt(0));
    assert.equal(rd(R.LSR) & 0x01, 0);
    uart.poll();
    assert.equal(rd(R.RBR_THR_DLL), "b".charCodeAt(0));
  });

  it("raises the received-data interrupt when IER.ERBFI is set and lowers it when read", () => {
    const { uart, rd, wr, irq } = setup("x");
    wr(R.IER_DLM, 0x01);
    assert.equal(irq(), false);
    uart.poll();
    assert.equal(irq(), true);
    assert.equal(rd(R.IIR_FCR), 0x04);
    assert.equal(rd(R.RBR_THR_DLL), 0x78);
    assert.equal(irq(), false);
    assert.equal(rd(R.IIR_FCR), 0x01);
  });

  it("raises THR empty when ETBEI is turned on and clears it when IIR reports it", () => {
    const { rd, wr, irq } = setup();
    wr(R.IER_DLM, 0x02);
    assert.equal(irq(), true);
    assert.equal(rd(R.IIR_FCR), 0x02);
    assert.equal(irq(), false, "reading IIR=THRI acknowledges it");
    assert.equal(rd(R.IIR_FCR), 0x01);
    wr(R.RBR_THR_DLL, 0x41);
    assert.equal(irq(), true, "the transmitter emptied again");
  });

  it("reports received data ahead of THR empty in IIR", () => {
    const { uart, rd, wr } = setup("z");
    wr(R.IER_DLM, 0x03);
    uart.poll();
    assert.equal(rd(R.IIR_FCR), 0x04);
    rd(R.RBR_THR_DLL);
    assert.equal(rd(R.IIR_FCR), 0x02);
  });

  it("reports an overrun as a receiver line status interrupt, cleared by reading LSR", () => {
    const { rd, wr, irq } = setup();
    wr(R.MCR, 0x10); // loopback: what we send comes back
    wr(R.IER_DLM, 0x05);
    wr(R.RBR_THR_DLL, 1);
    wr(R.RBR_THR_DLL, 2); // overruns the unread byte
    assert.equal(rd(R.IIR_FCR), 0x06);
    assert.equal(rd(R.LSR) & 0x03, 0x03);
    assert.equal(rd(R.IIR_FCR), 0x04, "overrun cleared; data still ready");
    assert.equal(rd(R.RBR_THR_DLL), 2);
    assert.equal(irq(), false);
  });

  it("loops transmitted bytes and modem lines back in loopback mode", () => {
    const { wr, rd, console } = setup();
    wr(R.MCR, 0x10 | 0x0b); // LOOP | OUT2 | RTS | DTR
    wr(R.RBR_THR_DLL, 0x55);
    assert.equal(console.text(), "");
    assert.equal(rd(R.RBR_THR_DLL), 0x55);
    assert.equal(rd(R.MSR), 0x80 | 0x10 | 0x20);
  });

  it("fills the FIFO and interrupts at the trigger level", () => {
    const { uart, rd, wr, irq } = setup("0123456789abcdefXYZ");
    wr(R.IIR_FCR, 0x01 | 0x40); // FIFO on, trigger level 4
    wr(R.IER_DLM, 0x01);
    assert.equal(rd(R.IIR_FCR) & 0xc0, 0xc0);
    uart.poll();
    assert.equal(irq(), true);
    assert.equal(rd(R.IIR_FCR), 0xc4);
    let got = "";
    while (rd(R.LSR) & 0x01) got += String.fromCharCode(rd(R.RBR_THR_DLL));
    assert.equal(got, "0123456789abcdef", "16 bytes, the rest waits in the backend");
    uart.poll();
    got = "";
    while (rd(R.LSR) & 0x01) got += String.fromCharCode(rd(R.RBR_THR_DLL));
    assert.equal(got, "XYZ");
  });

  it("raises a character timeout for data below the trigger level after a quiet poll", () => {
    const { uart, rd, wr, irq, console } = setup("ab");
    wr(R.IIR_FCR, 0x01 | 0xc0); // trigger level 14
    wr(R.IER_DLM, 0x01);
    uart.poll();
    assert.equal(irq(), false, "2 bytes are below the trigger level");
    uart.poll();
    assert.equal(irq(), true);
    assert.equal(rd(R.IIR_FCR), 0xcc);
    assert.equal(rd(R.RBR_THR_DLL), 0x61);
    assert.equal(irq(), false, "reading RBR restarts the timeout");
    console.feed("c");
    uart.poll();
    assert.equal(irq(), false);
  });

  it("flushes the receive FIFO on FCR.RFR and when the FIFO is switched off", () => {
    const { uart, rd, wr } = setup("abc");
    wr(R.IIR_FCR, 0x01);
    uart.poll();
    wr(R.IIR_FCR, 0x03);
    assert.equal(rd(R.LSR) & 0x01, 0);
    uart.poll();
    assert.equal(rd(R.LSR) & 0x01, 0, "the backend had nothing more");
    const { uart: u2, rd: rd2, wr: wr2 } = setup("ab");
    wr2(R.IIR_FCR, 0x01);
    u2.poll();
    wr2(R.IIR_FCR, 0x00);
    assert.equal(rd2(R.LSR) & 0x01, 0);
    assert.equal(rd2(R.IIR_FCR), 0x01);
  });

  it("splits a word access into byte accesses, lowest address first", () => {
    const { uart, rd } = setup();
    uart.write(4, 4, 0x5a00_0003); // MCR=3, LSR ignored, MSR ignored, SCR=0x5a
    assert.equal(rd(R.MCR), 0x03);
    assert.equal(rd(R.SCR), 0x5a);
    assert.equal(uart.read(0x10, 4), 0, "nothing is decoded past the eight registers");
  });

  it("does not toggle the interrupt line when its level is unchanged", () => {
    const { uart, wr, levels } = setup("abc");
    wr(R.IER_DLM, 0x01);
    uart.poll();
    uart.poll();
    assert.deepEqual(levels, [true]);
  });
});
