import { describe, expect, it } from 'vitest';
import { formatEta, renderProgressBar } from './progress-bar.js';

describe('formatEta', () => {
  it('formats seconds, minutes and hours', () => {
    expect(formatEta(undefined)).toBe('--');
    expect(formatEta(45)).toBe('45s');
    expect(formatEta(185)).toBe('3m 05s');
    expect(formatEta(3720)).toBe('1h 02m');
  });
});

describe('renderProgressBar', () => {
  it('shows the bar, percent, sizes, speed and ETA', () => {
    const line = renderProgressBar(
      {
        receivedBytes: 1_245_937_136,
        totalBytes: 2_491_874_272,
        bytesPerSecond: 12_300_000,
        etaSeconds: 101,
      },
      20,
    );
    expect(line).toBe('[##########----------]  50%  1.25 GB / 2.49 GB  12.3 MB/s  ETA 1m 41s');
  });

  it('handles an unknown total', () => {
    const line = renderProgressBar(
      { receivedBytes: 5_000_000, totalBytes: undefined, bytesPerSecond: 0, etaSeconds: undefined },
      10,
    );
    expect(line).toBe('[----------]  --%  5.00 MB  0 B/s  ETA --');
  });
});
