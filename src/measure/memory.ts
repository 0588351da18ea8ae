/** Resident set size of this process in bytes. */
export type RssReader = () => number;

export const readProcessRss: RssReader = () => process.memoryUsage.rss();

/**
 * Samples the process's RSS on a timer and whenever `sample()` is called, keeping the peak.
 * Native allocations (llama.cpp weights, KV cache) count, since RSS is read from the kernel.
 * The timer is unref'd, so a sampler never keeps the process alive.
 */
export class PeakRssSampler {
  readonly baselineBytes: number;
  #peakBytes: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly readRss: RssReader = readProcessRss,
    intervalMs = 25,
  ) {
    this.baselineBytes = readRss();
    this.#peakBytes = this.baselineBytes;
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  sample(): number {
    const rss = this.readRss();
    if (rss > this.#peakBytes) this.#peakBytes = rss;
    return rss;
  }

  get peakBytes(): number {
    return this.#peakBytes;
  }

  /** Peak minus the RSS when the sampler started. */
  get peakDeltaBytes(): number {
    return Math.max(0, this.#peakBytes - this.baselineBytes);
  }

  stop(): { peakBytes: number; peakDeltaBytes: number } {
    this.sample();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    return { peakBytes: this.#peakBytes, peakDeltaBytes: this.peakDeltaBytes };
  }
}
