let r1 = x[1], r10 = x[10];
// 0x80000000: addi
r10 = ((0 + 5) | 0) | 0;
// 0x80000002: addi
r10 = ((r10 + 1) | 0) | 0;
{
  // 0x80000004: jalr
  let npc = 0x80000006;
  const t = ((r1 + 0) & ~1) >>> 0; x[0] = npc; npc = t;
  x[0] = 0;
  return (x[10] = r10, npc | 0);
}
