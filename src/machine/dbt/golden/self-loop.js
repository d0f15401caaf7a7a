for (;;) {
// 0x80000000: addi
x[5] = (x[5] + -1) | 0;
// 0x80000004: add
x[6] = (x[6] + x[5]) | 0;
{
  // 0x80000008: bne
  let npc = 0x8000000c;
  if (x[5] !== 0) npc = (0x80000008 + -8) >>> 0;
  if (npc !== 0x80000000 || h.remaining < 6 || ((h.mipSw | h.mipHw) & h.mie) !== 0) return npc | 0;
  h.blockBase += 3; h.remaining -= 3;
}
}
