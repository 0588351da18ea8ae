import { describe, expect, it } from 'vitest';
import {
  createBenchRunFixture,
  HOSTILE_ERROR_MESSAGE,
  sweepRun,
  twoModelRun,
} from '../../../test/support/bench-report-fixtures.js';
import { InvalidArgumentError } from '../../errors.js';
import type { BenchRun } from '../types.js';
import { escapeHtml, escapeMarkdown } from './escape.js';
import { renderReport, reportFormatFromPath } from './index.js';

/** A small RFC 4180 reader: quoted fields with doubled quotes, commas and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let index = 0; index < text.length; index++) {
    const character = text[index];
    if (quoted) {
      if (character === '"' && text[index + 1] === '"') {
        field += '"';
        index++;
      } else if (character === '"') {
        quoted = false;
      } else {
        field += character;
      }
    } else if (character === '"') {
      quoted = true;
    } else if (character === ',') {
      row.push(field);
      field = '';
    } else if (character === '\r' && text[index + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      index++;
    } else {
      field += character;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

function measuredSummaryCount(run: BenchRun): number {
  return run.levels.length;
}

const single = twoModelRun();
const sweep = sweepRun();

describe('reportFormatFromPath', () => {
  it('knows the four formats by extension, in any case', () => {
    expect(reportFormatFromPath('out/run.json')).toBe('json');
    expect(reportFormatFromPath('run.CSV')).toBe('csv');
    expect(reportFormatFromPath('notes/run.md')).toBe('md');
    expect(reportFormatFromPath('run.html')).toBe('html');
    expect(reportFormatFromPath('run.htm')).toBe('html');
  });

  it('rejects another extension with one line', () => {
    for (const path of ['run.txt', 'run', 'run.json.gz']) {
      expect(() => reportFormatFromPath(path)).toThrow(InvalidArgumentError);
      try {
        reportFormatFromPath(path);
      } catch (error) {
        expect((error as Error).message).not.toContain('\n');
        expect((error as Error).message).toContain('.html');
      }
    }
  });
});

describe('JSON report', () => {
  it('parses back to the same run', () => {
    for (const run of [single, sweep]) {
      expect(JSON.parse(renderReport(run, 'json'))).toEqual(run);
    }
  });
});

describe('CSV report', () => {
  it('has a header and one row per request, with the right values', () => {
    const rows = parseCsv(renderReport(single, 'csv'));
    const [header, ...body] = rows;
    expect(header).toBeDefined();
    expect(body).toHaveLength(single.requests.length);
    const column = (name: string) => {
      const index = header?.indexOf(name) ?? -1;
      expect(index, name).toBeGreaterThanOrEqual(0);
      return index;
    };
    for (const row of body) expect(row).toHaveLength(header?.length ?? 0);
    single.requests.forEach((record, position) => {
      const row = body[position] ?? [];
      expect(Number(row[column('index')])).toBe(record.index);
      expect(row[column('model')]).toBe(single.models[record.modelIndex]?.reference);
      expect(row[column('level')]).toBe('concurrency 1');
      expect(row[column('warmup')]).toBe(String(record.warmup));
      expect(row[column('e2eMs')]).toBe(record.e2eMs === undefined ? '' : String(record.e2eMs));
      if (record.ttftMs !== undefined) expect(Number(row[column('ttftMs')])).toBe(record.ttftMs);
      expect(Number(row[column('outputTokens')])).toBe(record.outputTokens);
      expect(Number(row[column('tokenEvents')])).toBe(record.tokenTimesMs.length);
      expect(row[column('errorMessage')]).toBe(record.errorMessage ?? '');
    });
    expect(header).not.toContain('tokenTimesMs');
  });

  it('quotes the commas, quotes and line breaks of an error message', () => {
    const text = renderReport(single, 'csv');
    expect(text).toContain('"HTTP 500 from');
    const rows = parseCsv(text);
    const messages = rows.map((row) => row[rows[0]?.indexOf('errorMessage') ?? -1]);
    expect(messages).toContain(HOSTILE_ERROR_MESSAGE);
  });
});

describe('Markdown report', () => {
  it('starts with the workshop table, exactly, one row per model and level', () => {
    for (const run of [single, sweep]) {
      const text = renderReport(run, 'md');
      const lines = text.split('\n');
      const start = lines.indexOf(
        '| Model | Avg Latency (s) | p95 (s) | Tokens/sec | Rounds | First Token (s) |',
      );
      expect(start).toBeGreaterThan(0);
      const tableRows = [];
      for (let index = start + 2; lines[index]?.startsWith('|'); index++) {
        tableRows.push(lines[index]);
      }
      expect(tableRows).toHaveLength(measuredSummaryCount(run));
      // It is the first table of the report.
      expect(lines.findIndex((line) => line.startsWith('|'))).toBe(start);
    }
  });

  it('gives the workshop figures in seconds and tokens/s', () => {
    const text = renderReport(single, 'md');
    const summary = single.levels[0];
    const row = text
      .split('\n')
      .find((line) => line.startsWith('| demo-slm |') && line.split('|').length === 8);
    expect(row).toBeDefined();
    const cells = row?.split('|').map((cell) => cell.trim()) ?? [];
    expect(cells[2]).toBe(((summary?.e2eMs?.mean ?? 0) / 1000).toFixed(3));
    expect(cells[3]).toBe(((summary?.e2eMs?.p95 ?? 0) / 1000).toFixed(3));
    expect(cells[5]).toBe(String(summary?.requests));
    expect(cells[6]).toBe(((summary?.ttftMs?.mean ?? 0) / 1000).toFixed(3));
  });

  it('names sweep levels in the model column', () => {
    const text = renderReport(sweep, 'md');
    expect(text).toContain('| demo-llm (concurrency 8) |');
  });

  it('has the fuller tables, comparisons, lag, settings, machine and the demo note', () => {
    const text = renderReport(single, 'md');
    for (const heading of [
      '## Throughput and errors',
      '## Latency (ms)',
      '## Failed requests',
      '## Comparisons',
      '## Client',
      '## Models',
      '## Settings',
      '## Machine',
    ]) {
      expect(text).toContain(heading);
    }
    expect(text).toContain('Goodput req/s');
    expect(text).toContain('1 (http-5xx 1)');
    expect(text).toContain('random weights');
    expect(text).toContain(single.comparisons[0]?.text ?? 'missing');
    expect(renderReport(sweep, 'md')).not.toContain('Goodput');
  });

  it('shows server-side timings where the server reported them', () => {
    const withServer = createBenchRunFixture({ serverTimings: true });
    const text = renderReport(withServer, 'md');
    expect(text).toContain('## Server-side timings (ms)');
    expect(text).toContain('Client + transport overhead');
    expect(renderReport(single, 'md')).not.toContain('Server-side timings');
  });

  it('escapes data: no raw HTML, no broken table cell', () => {
    const text = renderReport(single, 'md');
    expect(text).not.toContain('<script>');
    expect(text).toContain('&lt;script&gt;');
    const failure = text.split('\n').find((line) => line.includes('HTTP 500'));
    expect(failure?.split(/(?<!\\)\|/)).toHaveLength(8);
  });
});

describe('escaping', () => {
  it('escapes HTML and Markdown', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
    );
    expect(escapeMarkdown('a|b *c* [d](e)\nf')).toBe('a\\|b \\*c\\* \\[d\\](e) f');
    expect(escapeMarkdown('# title')).toBe('\\# title');
    expect(escapeMarkdown('- item')).toBe('\\- item');
    expect(escapeMarkdown('-3.5')).toBe('-3.5');
  });
});

describe('HTML report', () => {
  const html = renderReport(single, 'html');
  const sweepHtml = renderReport(sweep, 'html');

  it('is one self-contained document without any external reference', () => {
    for (const page of [html, sweepHtml]) {
      expect(page.startsWith('<!doctype html>')).toBe(true);
      expect(page).not.toMatch(/<script/i);
      expect(page).not.toMatch(/\s(?:src|href|xlink:href)\s*=/i);
      expect(page).not.toMatch(/url\s*\(/i);
      expect(page).not.toMatch(/@import/i);
      expect(page).not.toMatch(/<(?:link|img|iframe|object|embed)\b/i);
    }
  });

  it('escapes <script> from an error message and data everywhere', () => {
    expect(html).toContain('&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;');
    expect(html).toContain('&lt;Q3 results&gt;');
    const evil = createBenchRunFixture();
    const model = evil.models[0];
    if (model !== undefined) model.reference = '<img src=x onerror=alert(1)>';
    const page = renderReport(evil, 'html');
    expect(page).not.toContain('<img');
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('has a chart per figure: tokens/s, TTFT, TPOT and the timeline of each model', () => {
    const count = (page: string, pattern: RegExp) => page.match(pattern)?.length ?? 0;
    // tokens/s, TTFT, TPOT, one timeline panel per model.
    expect(count(html, /<svg\b/g)).toBe(3 + single.models.length);
    for (const title of [
      'Output tokens per second',
      'Time to first token',
      'Time per output token',
      'Per-token timeline of a typical request',
    ]) {
      expect(html).toContain(title);
    }
    // Every chart has its axes' titles and a legend.
    expect(html).toContain('TTFT (ms)');
    expect(html).toContain('class="legend"');
  });

  it('shows the charts against concurrency only for sweeps', () => {
    expect(html).not.toContain('Throughput against concurrency');
    expect(html).not.toContain('Latency against concurrency');
    expect(sweepHtml).toContain('Throughput against concurrency');
    expect(sweepHtml).toContain('Latency against concurrency');
    expect(sweepHtml.match(/<svg\b/g)?.length).toBe(5 + sweep.models.length);
  });

  it('has the markdown tables too', () => {
    expect(html).toContain('<th class="num" scope="col">Avg Latency (s)</th>');
    expect(html).toContain('Failed requests');
    expect(html).toContain('random weights');
  });

  it('says why there is no TTFT chart for a non-streaming run', () => {
    const run = createBenchRunFixture();
    run.settings.stream = false;
    for (const record of run.requests) {
      record.ttftMs = undefined;
    }
    const page = renderReport(run, 'html');
    expect(page).toContain('Not measured: the requests were not streamed.');
  });
});
