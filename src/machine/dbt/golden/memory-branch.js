// 0x80000000: lw
h.pc = 0x80000000;
x[5] = h.lw((x[10] + 8) | 0);
if (h.exitBlock) return 1;
// 0x80000004: sb
h.pc = 0x80000004;
h.sb((x[11] + -1) | 0, x[5]);
if (h.exitBlock) return 1;
{
  // 0x80000008: amoadd.w
  h.pc = 0x80000008;
  const s = x[5]; const o = h.amoIndex(x[12]); const v = h.mem32[o]; h.amoWrite(o, (v + s) | 0); x[6] = v;
  if (h.exitBlock) return 1;
}
{
  // 0x8000000c: bne
  let npc = 0x80000010;
  if (x[5] !== 0) npc = (0x8000000c + 64) >>> 0;
  return npc | 0;
}
