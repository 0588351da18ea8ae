import { arch, cpus, platform, release, totalmem } from 'node:os';
import { physicalCoreCount } from '../engines/llama/threads.js';

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
