/**
 * The guest workloads the benchmarks run, each a self-checking program in guest/programs built as a
 * variant: `size` is the -D definition the benchmark calibrates (how much work), `fixed` the
 * definitions every benchmark build of it gets.
 */
export interface Workload {
  /** The figures' prefix. */
  name: string;
  /** guest/programs/<program>.c */
  program: string;
  /** What it exercises, for the notes. */
  what: string;
  /** The -D definition that sets the amount of work. */
  size: string;
  /** The first calibration probe's value of `size`: well under a second on QEMU. */
  probe: number;
  fixed: Record<string, number>;
}

/** 1 MiB per array: three arrays (3 MiB) go well past the host's L2 and the software TLB's reach. */
const STREAM_WORDS = 262_144;

export const COREMARK: Workload = {
  name: "coremark-lite",
  program: "coremark-lite",
  what: "CPU mix: list merge sort, 16-bit matrix product, a lexer's state machine, CRC-16",
  size: "ITERATIONS",
  probe: 1000,
  fixed: {},
};

export const WORKLOADS: readonly Workload[] = [
  COREMARK,
  {
    name: "memstream",
    program: "memstream",
    what: `STREAM-like copy/scale/add/triad and a reduction over 3 arrays of ${(STREAM_WORDS * 4) / 2 ** 20} MiB`,
    size: "PASSES",
    probe: 4,
    fixed: { WORDS: STREAM_WORDS },
  },
  {
    name: "branchy",
    program: "branchy",
    what: "a bytecode interpreter's switch dispatch, quicksort of random words, binary searches",
    size: "ROUNDS",
    probe: 200,
    fixed: {},
  },
  {
    name: "uscall",
    program: "uscall",
    what: "U-mode ecall system calls answered by an S-mode handler (sret both ways), on SBI firmware",
    size: "CALLS",
    probe: 50_000,
    fixed: {},
  },
];

export function findWorkload(name: string): Workload {
  const w = WORKLOADS.find((x) => x.name === name);
  if (w === undefined) {
    throw new Error(`unknown workload '${name}'; workloads: ${WORKLOADS.map((x) => x.name).join(", ")}`);
  }
  return w;
}
