// 0x80000000: addi
x[5] = (0 + 1) | 0;
{
  // 0x80000004: csrrs
  h.pc = 0x80000004;
  h.retired = h.blockBase + 1;
  const s = x[5]; const v = h.csrRead(768, 805479283); if (5 !== 0) h.csrWrite(768, v | s, 805479283); x[6] = v;
  return 0x80000008 | 0;
}
