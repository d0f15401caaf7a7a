let r1 = x[1], r5 = x[5], r6 = x[6], r7 = x[7];
// 0x80000000: addi
r5 = ((r5 + 1) | 0) | 0;
{
  // 0x80000004: blt
  let npc = 0x80000008;
  if (r5 < r6) npc = (0x80000004 + 32) >>> 0;
  if (npc !== 0x80000008) { h.blockBase -= 2; h.remaining += 2; return (x[5] = r5, x[7] = r7, npc | 0); }
}
// 0x80000008: sub
r7 = ((r6 - r5) | 0) | 0;
{
  // 0x8000000c: jalr
  let npc = 0x80000010;
  const t = ((r1 + 0) & ~1) >>> 0; x[0] = npc; npc = t;
  x[0] = 0;
  return (x[5] = r5, x[7] = r7, npc | 0);
}
