import { physicalCoreCount } from '../measure/machine.js';
import { parseWholeNumber } from '../numbers.js';

/**
 * Parameters per thread. Decode runs ~150 thread barriers per token; for a small model each
 * step is so short that a second thread mostly waits at them (and, on a machine with no spare
 * core, for the scheduler). Measured on a 2-core VM, demo-llm (77M, F16) decodes at ~120
 * tok/s on 1 thread and ~68 on 2; models of a few hundred million parameters and more gain
 * from every core.
 */
const PARAMETERS_PER_THREAD = 100_000_000;

/**
 * The default thread count: physical cores, capped by the model's size (one thread per
 * 100M parameters, at least one). demo-slm and demo-llm get one thread; a 0.5B model up to
 * five; phi-4-mini and larger every physical core.
 */
export function defaultThreadCount(
  parameterCount: number | undefined,
  cores = physicalCoreCount(),
): number {
  if (parameterCount === undefined) return cores;
  const bySize = Math.max(1, Math.ceil(parameterCount / PARAMETERS_PER_THREAD));
  return Math.max(1, Math.min(cores, bySize));
}

/** Reads TANDEM_THREADS; undefined when unset. */
export function threadsFromEnvironment(env: NodeJS.ProcessEnv): number | undefined {
  const value = env.TANDEM_THREADS;
  if (value === undefined || value.trim() === '') return undefined;
  return parseWholeNumber(value, `TANDEM_THREADS=${value}`, { min: 1, max: 1024 });
}
