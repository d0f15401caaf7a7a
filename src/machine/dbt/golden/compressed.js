// 0x80000000: addi
x[10] = (0 + 5) | 0;
// 0x80000002: addi
x[10] = (x[10] + 1) | 0;
{
  // 0x80000004: jalr
  let npc = 0x80000006;
  const t = ((x[1] + 0) & ~1) >>> 0; x[0] = npc; npc = t;
  x[0] = 0;
  return npc | 0;
}
