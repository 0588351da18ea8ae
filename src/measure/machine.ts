import { readFileSync } from 'node:fs';
import { arch, availableParallelism, cpus, platform, release, totalmem } from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  logicalCores: number;
  physicalCores: number;
  totalMemoryBytes: number;
  platform: string;
  osRelease: string;
  architecture: string;
  nodeVersion: string;
}

/**
 * Physical cores (not hyper-threads): decode is memory-bound, and a second thread on the
 * same core only adds contention. Linux: distinct (physical id, core id) pairs in
 * /proc/cpuinfo; elsewhere the logical count.
 */
export function physicalCoreCount(cpuinfo?: string): number {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return availableParallelism();
    }
  }
  const cores = new Set<string>();
  let physicalId = '0';
  for (const line of text.split('\n')) {
    const [key, value] = line.split(':').map((part) => part.trim());
    if (key === 'physical id') physicalId = value ?? '0';
    if (key === 'core id') cores.add(`${physicalId}:${value ?? ''}`);
  }
  return cores.size > 0 ? cores.size : availableParallelism();
}

/** The machine a measurement was taken on; every result carries it. */
export function describeMachine(): MachineInfo {
  const cpuList = cpus();
  return {
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    logicalCores: cpuList.length,
    physicalCores: physicalCoreCount(),
    totalMemoryBytes: totalmem(),
    platform: platform(),
    osRelease: release(),
    architecture: arch(),
    nodeVersion: process.version,
  };
}
