let r5 = x[5], r6 = x[6];
for (;;) {
// 0x80000000: addi
r5 = ((r5 + -1) | 0) | 0;
// 0x80000004: add
r6 = ((r6 + r5) | 0) | 0;
{
  // 0x80000008: bne
  let npc = 0x8000000c;
  if (r5 !== 0) npc = (0x80000008 + -8) >>> 0;
  if (npc !== 0x80000000 || h.remaining < 6 || ((h.mipSw | h.mipHw) & h.mie) !== 0) return (x[5] = r5, x[6] = r6, npc | 0);
  h.blockBase += 3; h.remaining -= 3;
}
}
