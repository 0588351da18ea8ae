/**
 * A download's progress on one terminal line: the bar, percent, sizes, speed and ETA that
 * `tandem models pull` and `tandem run` draw while a model file downloads.
 */
import type { PullProgress } from '../models/pull.js';
import { formatBytes } from '../units.js';

/** A duration for an ETA: '45s', '3m 05s', '1h 02m'; '--' when unknown. */
export function formatEta(etaSeconds: number | undefined): string {
  if (etaSeconds === undefined || !Number.isFinite(etaSeconds) || etaSeconds < 0) return '--';
  const total = Math.round(etaSeconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secondsPart = total % 60;
  if (hours > 0) return `${hours}h ${String(minutes).padStart(2, '0')}m`;
  if (minutes > 0) return `${minutes}m ${String(secondsPart).padStart(2, '0')}s`;
  return `${secondsPart}s`;
}

/**
 * One line of text for a download's progress:
 * `[##########----------]  50%  1.25 GB / 2.49 GB  12.3 MB/s  ETA 1m 41s`.
 * With an unknown total, the bar is left empty and the percent is '--'.
 */
export function renderProgressBar(progress: PullProgress, width = 30): string {
  const barWidth = Math.max(1, Math.floor(width));
  const { receivedBytes, totalBytes } = progress;
  const fraction =
    totalBytes === undefined || totalBytes <= 0
      ? undefined
      : Math.min(1, Math.max(0, receivedBytes / totalBytes));
  const filled = fraction === undefined ? 0 : Math.floor(fraction * barWidth);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`;
  const percent =
    fraction === undefined ? ' --%' : `${String(Math.floor(fraction * 100)).padStart(3)}%`;
  const sizes =
    totalBytes === undefined
      ? formatBytes(receivedBytes)
      : `${formatBytes(receivedBytes)} / ${formatBytes(totalBytes)}`;
  const speed = `${formatBytes(progress.bytesPerSecond)}/s`;
  return `${bar} ${percent}  ${sizes}  ${speed}  ETA ${formatEta(progress.etaSeconds)}`;
}
