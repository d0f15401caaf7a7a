// 0x80000000: addi
x[5] = (x[5] + 1) | 0;
{
  // 0x80000004: blt
  let npc = 0x80000008;
  if (x[5] < x[6]) npc = (0x80000004 + 32) >>> 0;
  if (npc !== 0x80000008) { h.blockBase -= 2; h.remaining += 2; return npc | 0; }
}
// 0x80000008: sub
x[7] = (x[6] - x[5]) | 0;
{
  // 0x8000000c: jalr
  let npc = 0x80000010;
  const t = ((x[1] + 0) & ~1) >>> 0; x[0] = npc; npc = t;
  x[0] = 0;
  return npc | 0;
}
