/** Reports of a benchmark run: JSON, CSV, Markdown and a self-contained HTML page. */
import { extname } from 'node:path';
import { InvalidArgumentError } from '../../errors.js';
import type { BenchRun } from '../types.js';
import { renderCsv } from './csv.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';

export type ReportFormat = 'json' | 'csv' | 'md' | 'html';

const FORMATS_BY_EXTENSION: Record<string, ReportFormat> = {
  '.json': 'json',
  '.csv': 'csv',
  '.md': 'md',
  '.markdown': 'md',
  '.html': 'html',
  '.htm': 'html',
};

/** The report format a file name asks for, from its extension (case-insensitive). */
export function reportFormatFromPath(path: string): ReportFormat {
  const extension = extname(path).toLowerCase();
  const format = FORMATS_BY_EXTENSION[extension];
  if (format === undefined) {
    throw new InvalidArgumentError(
      `Cannot tell the report format of '${path}': use a file ending in .json, .csv, .md or .html.`,
    );
  }
  return format;
}

/** The whole report of a run in one format, as the text of the file. */
export function renderReport(run: BenchRun, format: ReportFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(run, null, 2)}\n`;
    case 'csv':
      return renderCsv(run);
    case 'md':
      return renderMarkdown(run);
    case 'html':
      return renderHtml(run);
    default:
      throw new InvalidArgumentError(
        `Unknown report format '${String(format)}': use json, csv, md or html.`,
      );
  }
}

export { REQUEST_CSV_COLUMNS, renderCsv } from './csv.js';
export { renderHtml } from './html.js';
export { renderMarkdown } from './markdown.js';
export { WORKSHOP_HEADERS } from './tables.js';
