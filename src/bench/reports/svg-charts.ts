/**
 * Small inline-SVG charts for the HTML report: axes with ticks, labels and units, a
 * legend, and the Okabe–Ito colour-blind-safe palette. No script, no external resource.
 * Every text that comes from data is escaped here.
 */
import { percentile } from '../../measure/statistics/summary.js';
import { escapeHtml } from './escape.js';

/** Okabe & Ito's palette, without the yellow that is unreadable on white. */
export const PALETTE = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#D55E00',
  '#CC79A7',
  '#56B4E9',
  '#000000',
] as const;

export function colorOf(index: number): string {
  return PALETTE[index % PALETTE.length] ?? '#000000';
}

const WIDTH = 960;
const FONT_SIZE = 12;
const CHARACTER_WIDTH = 6.7;
const AXIS_COLOR = '#6b7280';
const GRID_COLOR = '#e5e7eb';
const TEXT_COLOR = '#1f2937';

/** Estimated width in pixels of a label at the chart font size. */
function textWidth(text: string, size = FONT_SIZE): number {
  return text.length * CHARACTER_WIDTH * (size / FONT_SIZE);
}

function round(value: number): string {
  return String(Math.round(value * 10) / 10);
}

function text(
  x: number,
  y: number,
  content: string,
  attributes: Record<string, string | number> = {},
): string {
  const extra = Object.entries(attributes)
    .map(([name, value]) => ` ${name}="${escapeHtml(String(value))}"`)
    .join('');
  return `<text x="${round(x)}" y="${round(y)}"${extra}>${escapeHtml(content)}</text>`;
}

/** An axis tick label: 0.5, 12, 150, 1,200, 15,000. */
export function formatTick(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return Number(value.toPrecision(4)).toLocaleString('en-US');
  if (magnitude >= 1) return String(Number(value.toPrecision(4)));
  return String(Number(value.toPrecision(2)));
}

export interface Scale {
  toPixel(value: number): number;
  ticks: number[];
  log: boolean;
}

/** Round tick values covering [min, max] (min may be 0), about `count` of them. */
export function niceTicks(min: number, max: number, count = 6): number[] {
  if (!(max > min)) return [min, min + 1];
  const rawStep = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(rawStep));
  const step =
    [1, 2, 2.5, 5, 10].map((factor) => factor * power).find((s) => s >= rawStep) ?? 10 * power;
  const first = Math.floor(min / step) * step;
  const ticks: number[] = [];
  for (let value = first; value < max + step * 0.999; value += step) {
    ticks.push(Number(value.toPrecision(12)));
  }
  return ticks;
}

/** The 1–2–5 values of each decade from the largest ≤ min to the smallest ≥ max. */
export function logTicks(min: number, max: number): number[] {
  const all: number[] = [];
  for (
    let exponent = Math.floor(Math.log10(min)) - 1;
    exponent <= Math.ceil(Math.log10(max));
    exponent++
  ) {
    for (const factor of [1, 2, 5]) all.push(Number((factor * 10 ** exponent).toPrecision(12)));
  }
  const lowIndex = Math.max(
    0,
    all.findLastIndex((value) => value <= min),
  );
  const highIndex = all.findIndex((value) => value >= max);
  const ticks = all.slice(lowIndex, highIndex === -1 ? all.length : highIndex + 1);
  return ticks.length > 10
    ? ticks.filter(
        (value, index) => index === 0 || /^1/.test(String(value)) || index === ticks.length - 1,
      )
    : ticks;
}

/** A log scale when the values span more than `spread`×, else linear from 0. */
export function valueScale(
  values: readonly number[],
  pixelLow: number,
  pixelHigh: number,
  { spread = 10, fromZero = true }: { spread?: number; fromZero?: boolean } = {},
): Scale {
  const positive = values.filter((value) => value > 0 && Number.isFinite(value));
  const min = positive.length === 0 ? 1 : Math.min(...positive);
  const max = positive.length === 0 ? 1 : Math.max(...positive);
  if (max / min > spread) {
    const ticks = logTicks(min, max);
    const low = Math.log10(ticks[0] ?? min);
    const high = Math.log10(ticks[ticks.length - 1] ?? max);
    return {
      log: true,
      ticks,
      toPixel: (value) =>
        pixelLow +
        ((Math.log10(Math.max(value, 10 ** low)) - low) / (high - low || 1)) *
          (pixelHigh - pixelLow),
    };
  }
  const ticks = niceTicks(fromZero ? 0 : min, max === min ? max * 1.1 + 1 : max);
  const low = ticks[0] ?? 0;
  const high = ticks[ticks.length - 1] ?? 1;
  return {
    log: false,
    ticks,
    toPixel: (value) => pixelLow + ((value - low) / (high - low || 1)) * (pixelHigh - pixelLow),
  };
}

export interface LegendItem {
  label: string;
  color: string;
  /** How the item is drawn: a filled square (default), a line, a dashed line, a dot, a diamond. */
  shape?: 'square' | 'line' | 'dashed' | 'dot' | 'diamond' | 'whisker';
}

function legendSymbol(item: LegendItem, x: number, y: number): string {
  switch (item.shape ?? 'square') {
    case 'line':
      return `<line x1="${x}" y1="${y}" x2="${x + 18}" y2="${y}" stroke="${item.color}" stroke-width="2.5"/>`;
    case 'dashed':
      return `<line x1="${x}" y1="${y}" x2="${x + 18}" y2="${y}" stroke="${item.color}" stroke-width="2.5" stroke-dasharray="5 3"/>`;
    case 'dot':
      return `<circle cx="${x + 9}" cy="${y}" r="3.5" fill="${item.color}"/>`;
    case 'diamond':
      return `<path d="M${x + 9} ${y - 5}l5 5-5 5-5-5z" fill="#fff" stroke="${item.color}" stroke-width="1.5"/>`;
    case 'whisker':
      return `<path d="M${x + 1} ${y}h16M${x + 1} ${y - 4}v8M${x + 17} ${y - 4}v8" stroke="${item.color}" stroke-width="1.5" fill="none"/><circle cx="${x + 9}" cy="${y}" r="3.5" fill="#fff" stroke="${item.color}" stroke-width="1.5"/>`;
    default:
      return `<rect x="${x + 3}" y="${y - 6}" width="12" height="12" rx="2" fill="${item.color}"/>`;
  }
}

/** Legend rows starting at (x, y), wrapping at the chart's width; returns markup and height. */
function legend(
  items: readonly LegendItem[],
  x: number,
  y: number,
): { svg: string; height: number } {
  if (items.length === 0) return { svg: '', height: 0 };
  const parts: string[] = [];
  let cursorX = x;
  let cursorY = y + 8;
  for (const item of items) {
    const width = 24 + textWidth(item.label) + 18;
    if (cursorX + width > WIDTH - 12 && cursorX > x) {
      cursorX = x;
      cursorY += 20;
    }
    parts.push(legendSymbol(item, cursorX, cursorY));
    parts.push(text(cursorX + 24, cursorY + 4, item.label));
    cursorX += width;
  }
  return { svg: `<g class="legend">${parts.join('')}</g>`, height: cursorY - y + 16 };
}

function svgDocument(title: string, height: number, body: string): string {
  return `<svg class="chart" viewBox="0 0 ${WIDTH} ${Math.ceil(height)}" width="${WIDTH}" height="${Math.ceil(height)}" role="img" aria-label="${escapeHtml(title)}" font-size="${FONT_SIZE}" fill="${TEXT_COLOR}"><title>${escapeHtml(title)}</title>${body}</svg>`;
}

/** Vertical grid lines and tick labels of a horizontal value axis, with its title. */
function horizontalAxis(
  scale: Scale,
  top: number,
  bottom: number,
  left: number,
  right: number,
  title: string,
): string {
  const parts: string[] = [];
  for (const tick of scale.ticks) {
    const x = scale.toPixel(tick);
    parts.push(
      `<line x1="${round(x)}" y1="${round(top)}" x2="${round(x)}" y2="${round(bottom)}" stroke="${GRID_COLOR}"/>`,
    );
    parts.push(
      `<line x1="${round(x)}" y1="${round(bottom)}" x2="${round(x)}" y2="${round(bottom + 4)}" stroke="${AXIS_COLOR}"/>`,
    );
    parts.push(
      text(x, bottom + 17, formatTick(tick), { 'text-anchor': 'middle', fill: AXIS_COLOR }),
    );
  }
  parts.push(
    `<line x1="${round(left)}" y1="${round(bottom)}" x2="${round(right)}" y2="${round(bottom)}" stroke="${AXIS_COLOR}"/>`,
  );
  parts.push(
    text((left + right) / 2, bottom + 36, scale.log ? `${title} (log scale)` : title, {
      'text-anchor': 'middle',
      'font-weight': 600,
    }),
  );
  return parts.join('');
}

/** Horizontal grid lines and tick labels of a vertical value axis, with its title. */
function verticalAxis(
  scale: Scale,
  left: number,
  right: number,
  top: number,
  bottom: number,
  title: string,
): string {
  const parts: string[] = [];
  for (const tick of scale.ticks) {
    const y = scale.toPixel(tick);
    parts.push(
      `<line x1="${round(left)}" y1="${round(y)}" x2="${round(right)}" y2="${round(y)}" stroke="${GRID_COLOR}"/>`,
    );
    parts.push(text(left - 7, y + 4, formatTick(tick), { 'text-anchor': 'end', fill: AXIS_COLOR }));
  }
  parts.push(
    `<line x1="${round(left)}" y1="${round(top)}" x2="${round(left)}" y2="${round(bottom)}" stroke="${AXIS_COLOR}"/>`,
  );
  const middle = (top + bottom) / 2;
  parts.push(
    text(16, middle, scale.log ? `${title} (log scale)` : title, {
      'text-anchor': 'middle',
      'font-weight': 600,
      transform: `rotate(-90 16 ${round(middle)})`,
    }),
  );
  return parts.join('');
}

export interface BoxPlotRow {
  label: string;
  color: string;
  values: readonly number[];
}

interface BoxFigures {
  q1: number;
  median: number;
  q3: number;
  whiskerLow: number;
  whiskerHigh: number;
  outliers: number[];
  mean: number;
}

/** Quartiles, Tukey whiskers (furthest value within 1.5 × IQR) and the values beyond. */
export function boxFigures(values: readonly number[]): BoxFigures {
  const q1 = percentile(values, 25);
  const median = percentile(values, 50);
  const q3 = percentile(values, 75);
  const reach = 1.5 * (q3 - q1);
  const inside = values.filter((value) => value >= q1 - reach && value <= q3 + reach);
  return {
    q1,
    median,
    q3,
    whiskerLow: Math.min(...inside),
    whiskerHigh: Math.max(...inside),
    outliers: values.filter((value) => value < q1 - reach || value > q3 + reach),
    mean: values.reduce((sum, value) => sum + value, 0) / values.length,
  };
}

const MAX_OUTLIER_DOTS = 200;

/** Horizontal box plots, one row per label; the value axis in `unit`. */
export function boxPlotChart(options: {
  title: string;
  axisTitle: string;
  unit: string;
  rows: readonly BoxPlotRow[];
  legend: readonly LegendItem[];
}): string {
  const rows = options.rows.filter((row) => row.values.length > 0);
  const labelWidth = Math.max(60, ...rows.map((row) => textWidth(row.label)));
  const left = labelWidth + 20;
  const right = WIDTH - 24;
  const keyItems: LegendItem[] = [
    ...options.legend,
    { label: 'mean', color: TEXT_COLOR, shape: 'diamond' },
  ];
  const key = legend(keyItems, left, 8);
  const note =
    'box: p25–p75 · thick line: median · whiskers: furthest value within 1.5 × IQR · dots: beyond';
  const top = 8 + key.height + 20;
  const rowHeight = 30;
  const bottom = top + rows.length * rowHeight;
  const scale = valueScale(
    rows.flatMap((row) => row.values),
    left,
    right,
  );
  const parts: string[] = [
    key.svg,
    text(left, 8 + key.height + 6, note, { fill: AXIS_COLOR, 'font-size': 11 }),
  ];
  parts.push(horizontalAxis(scale, top, bottom, left, right, options.axisTitle));
  rows.forEach((row, index) => {
    const middle = top + index * rowHeight + rowHeight / 2;
    const f = boxFigures(row.values);
    const x = (value: number) => round(scale.toPixel(value));
    const tooltip = `${row.label}: median ${formatTick(f.median)} ${options.unit}, p25 ${formatTick(f.q1)}, p75 ${formatTick(f.q3)}, mean ${formatTick(f.mean)}, n = ${row.values.length}`;
    const dots = f.outliers
      .slice(0, MAX_OUTLIER_DOTS)
      .map(
        (value) =>
          `<circle cx="${x(value)}" cy="${round(middle)}" r="2.5" fill="none" stroke="${row.color}" stroke-width="1.2"/>`,
      )
      .join('');
    parts.push(
      `<g><title>${escapeHtml(tooltip)}</title>`,
      text(left - 10, middle + 4, row.label, { 'text-anchor': 'end' }),
      `<path d="M${x(f.whiskerLow)} ${round(middle)}H${x(f.q1)}M${x(f.q3)} ${round(middle)}H${x(f.whiskerHigh)}M${x(f.whiskerLow)} ${round(middle - 6)}v12M${x(f.whiskerHigh)} ${round(middle - 6)}v12" stroke="${row.color}" stroke-width="1.5" fill="none"/>`,
      `<rect x="${x(f.q1)}" y="${round(middle - 9)}" width="${round(Math.max(1.5, scale.toPixel(f.q3) - scale.toPixel(f.q1)))}" height="18" fill="${row.color}" fill-opacity="0.28" stroke="${row.color}" stroke-width="1.5"/>`,
      `<line x1="${x(f.median)}" y1="${round(middle - 9)}" x2="${x(f.median)}" y2="${round(middle + 9)}" stroke="${row.color}" stroke-width="3"/>`,
      dots,
      `<path d="M${x(f.mean)} ${round(middle - 5)}l5 5-5 5-5-5z" fill="#fff" stroke="${TEXT_COLOR}" stroke-width="1.3"/>`,
      '</g>',
    );
  });
  return svgDocument(options.title, bottom + 48, parts.join(''));
}

export interface BarRow {
  label: string;
  color: string;
  value: number;
  /** A second figure drawn as a dot with its interval (e.g. mean with 95% CI). */
  marker?: { value: number; low: number | undefined; high: number | undefined };
}

/** Horizontal bars with value labels and, where given, a dot with its interval. */
export function barChart(options: {
  title: string;
  axisTitle: string;
  rows: readonly BarRow[];
  legend: readonly LegendItem[];
  format: (value: number) => string;
}): string {
  const { rows } = options;
  const labelWidth = Math.max(60, ...rows.map((row) => textWidth(row.label)));
  const left = labelWidth + 20;
  const right = WIDTH - 70;
  const key = legend(options.legend, left, 8);
  const top = 8 + key.height + 10;
  const rowHeight = 30;
  const bottom = top + rows.length * rowHeight;
  const extremes = rows.flatMap((row) => [row.value, row.marker?.high ?? row.marker?.value ?? 0]);
  const scale = valueScale(extremes, left, right, { spread: Number.POSITIVE_INFINITY });
  const parts: string[] = [
    key.svg,
    horizontalAxis(scale, top, bottom, left, right, options.axisTitle),
  ];
  rows.forEach((row, index) => {
    const middle = top + index * rowHeight + rowHeight / 2;
    const end = scale.toPixel(row.value);
    const markerEnd =
      row.marker === undefined ? end : scale.toPixel(row.marker.high ?? row.marker.value);
    parts.push(
      `<g><title>${escapeHtml(`${row.label}: ${options.format(row.value)}`)}</title>`,
      text(left - 10, middle + 4, row.label, { 'text-anchor': 'end' }),
      `<rect x="${round(left)}" y="${round(middle - 9)}" width="${round(Math.max(1, end - left))}" height="18" fill="${row.color}" rx="2"/>`,
      text(Math.max(end, markerEnd) + 6, middle + 4, options.format(row.value), {
        'font-weight': 600,
      }),
      '</g>',
    );
    const marker = row.marker;
    if (marker !== undefined) {
      const y = round(middle);
      const low = marker.low === undefined ? undefined : round(scale.toPixel(marker.low));
      const high = marker.high === undefined ? undefined : round(scale.toPixel(marker.high));
      const interval =
        low === undefined || high === undefined
          ? ''
          : `<path d="M${low} ${y}H${high}M${low} ${round(middle - 5)}v10M${high} ${round(middle - 5)}v10" stroke="${TEXT_COLOR}" stroke-width="1.5" fill="none"/>`;
      parts.push(
        `<g><title>${escapeHtml(`${row.label}: mean ${options.format(marker.value)}${marker.low === undefined || marker.high === undefined ? '' : ` (95% CI ${options.format(marker.low)}–${options.format(marker.high)})`}`)}</title>${interval}<circle cx="${round(scale.toPixel(marker.value))}" cy="${y}" r="3.5" fill="#fff" stroke="${TEXT_COLOR}" stroke-width="1.5"/></g>`,
      );
    }
  });
  return svgDocument(options.title, bottom + 48, parts.join(''));
}

export interface LineSeries {
  name: string;
  color: string;
  dashed?: boolean;
  points: readonly { x: number; y: number }[];
}

/** Lines over a numeric x axis (log₂-spaced when `logX`), value axis automatic. */
export function lineChart(options: {
  title: string;
  xTitle: string;
  yTitle: string;
  xValues: readonly number[];
  logX: boolean;
  series: readonly LineSeries[];
  legend: readonly LegendItem[];
  unit: string;
}): string {
  const left = 78;
  const right = WIDTH - 24;
  const key = legend(options.legend, left, 8);
  const top = 8 + key.height + 14;
  const bottom = top + 260;
  const xs = [...new Set(options.xValues)].sort((a, b) => a - b);
  const xLow = xs[0] ?? 0;
  const xHigh = xs[xs.length - 1] ?? 1;
  const xPosition = (value: number) => {
    const share = options.logX
      ? (Math.log2(value) - Math.log2(xLow)) / (Math.log2(xHigh) - Math.log2(xLow) || 1)
      : (value - xLow) / (xHigh - xLow || 1);
    return left + 24 + share * (right - left - 48);
  };
  const yScale = valueScale(
    options.series.flatMap((series) => series.points.map((point) => point.y)),
    bottom,
    top,
  );
  const parts: string[] = [key.svg, verticalAxis(yScale, left, right, top, bottom, options.yTitle)];
  parts.push(
    `<line x1="${left}" y1="${round(bottom)}" x2="${right}" y2="${round(bottom)}" stroke="${AXIS_COLOR}"/>`,
  );
  for (const value of xs) {
    const x = xPosition(value);
    parts.push(
      `<line x1="${round(x)}" y1="${round(bottom)}" x2="${round(x)}" y2="${round(bottom + 4)}" stroke="${AXIS_COLOR}"/>`,
      text(x, bottom + 17, formatTick(value), { 'text-anchor': 'middle', fill: AXIS_COLOR }),
    );
  }
  parts.push(
    text((left + right) / 2, bottom + 36, options.xTitle, {
      'text-anchor': 'middle',
      'font-weight': 600,
    }),
  );
  for (const series of options.series) {
    const points = [...series.points].sort((a, b) => a.x - b.x);
    const path = points
      .map(
        (point, index) =>
          `${index === 0 ? 'M' : 'L'}${round(xPosition(point.x))} ${round(yScale.toPixel(point.y))}`,
      )
      .join('');
    parts.push(
      `<path d="${path}" fill="none" stroke="${series.color}" stroke-width="2.5"${series.dashed === true ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    for (const point of points) {
      parts.push(
        `<circle cx="${round(xPosition(point.x))}" cy="${round(yScale.toPixel(point.y))}" r="4" fill="${series.dashed === true ? '#fff' : series.color}" stroke="${series.color}" stroke-width="2"><title>${escapeHtml(`${series.name} at ${formatTick(point.x)}: ${formatTick(Number(point.y.toPrecision(4)))} ${options.unit}`)}</title></circle>`,
      );
    }
  }
  return svgDocument(options.title, bottom + 48, parts.join(''));
}

/** The cumulative count of token events against time from t0, as a step line. */
export function timelineChart(options: {
  title: string;
  heading: string;
  color: string;
  timesMs: readonly number[];
  ttftMs: number | undefined;
}): string {
  const left = 78;
  const right = WIDTH - 24;
  const top = 34;
  const bottom = top + 170;
  const times = options.timesMs;
  const last = times[times.length - 1] ?? 1;
  const xScale = valueScale([last], left, right, { spread: Number.POSITIVE_INFINITY });
  const yScale = valueScale([times.length], bottom, top, { spread: Number.POSITIVE_INFINITY });
  const parts: string[] = [
    text(left, 18, options.heading, { 'font-weight': 600 }),
    horizontalAxis(xScale, top, bottom, left, right, 'time since the request was written (ms)'),
    verticalAxis(yScale, left, right, top, bottom, 'tokens'),
  ];
  let path = `M${round(xScale.toPixel(0))} ${round(yScale.toPixel(0))}`;
  times.forEach((time, index) => {
    path += `H${round(xScale.toPixel(time))}V${round(yScale.toPixel(index + 1))}`;
  });
  parts.push(`<path d="${path}" fill="none" stroke="${options.color}" stroke-width="2"/>`);
  if (times.length <= 300) {
    times.forEach((time, index) => {
      parts.push(
        `<circle cx="${round(xScale.toPixel(time))}" cy="${round(yScale.toPixel(index + 1))}" r="1.8" fill="${options.color}"/>`,
      );
    });
  }
  if (options.ttftMs !== undefined) {
    const x = xScale.toPixel(options.ttftMs);
    parts.push(
      `<line x1="${round(x)}" y1="${top}" x2="${round(x)}" y2="${bottom}" stroke="${TEXT_COLOR}" stroke-dasharray="4 3"/>`,
      text(x + 5, top + 12, `TTFT ${formatTick(Number(options.ttftMs.toPrecision(3)))} ms`, {
        fill: TEXT_COLOR,
      }),
    );
  }
  return svgDocument(options.title, bottom + 48, parts.join(''));
}
