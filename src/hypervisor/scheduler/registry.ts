/**
 * Schedulers by name, so a host chooses its policy in its configuration (`sched = "credit"`, as Xen's
 * `sched=` boot option). Credit is the default for every host.
 */
import { type CreditOptions, CreditScheduler } from "./credit.js";
import type { Scheduler } from "./interface.js";
import { type RoundRobinOptions, RoundRobinScheduler } from "./round-robin.js";

export type SchedulerName = "credit" | "round-robin";

export const DEFAULT_SCHEDULER: SchedulerName = "credit";

/** Options every policy accepts; each reads its own and ignores the others'. */
export type AnySchedulerOptions = CreditOptions & RoundRobinOptions;

const FACTORIES: Record<SchedulerName, (o: AnySchedulerOptions) => Scheduler> = {
  credit: (o) => new CreditScheduler(o),
  "round-robin": (o) => new RoundRobinScheduler(o),
};

export const SCHEDULER_NAMES = Object.keys(FACTORIES) as SchedulerName[];

export function isSchedulerName(name: string): name is SchedulerName {
  return Object.hasOwn(FACTORIES, name);
}

export function createScheduler(name: string, options: AnySchedulerOptions): Scheduler {
  if (!isSchedulerName(name))
    throw new Error(`unknown scheduler '${name}'; schedulers: ${SCHEDULER_NAMES.join(", ")}`);
  return FACTORIES[name](options);
}
