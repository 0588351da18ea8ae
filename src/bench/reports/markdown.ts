/** The Markdown report: the workshop exporter's table first, then tandem's fuller figures. */
import type { BenchRun } from '../types.js';
import { escapeMarkdown } from './escape.js';
import { comparisonLine, demoModelNote } from './format.js';
import {
  DEFINITIONS,
  eventLoopLagText,
  failuresTable,
  latencyTable,
  machineTable,
  modelsTable,
  type ReportTable,
  runFacts,
  serverSideTable,
  settingsTable,
  throughputTable,
  workshopTable,
} from './tables.js';

/** A table in GitHub-flavoured Markdown; every cell escaped. */
export function markdownTable(source: ReportTable): string {
  const line = (cells: readonly string[]) => `| ${cells.map(escapeMarkdown).join(' | ')} |`;
  const rule = `|${source.align.map((align) => (align === 'right' ? '---:|' : '---|')).join('')}`;
  return [line(source.headers), rule, ...source.rows.map(line)].join('\n');
}

export function reportTitle(run: BenchRun): string {
  const name = run.name ?? run.settings.name;
  return name === undefined ? 'tandem bench' : `tandem bench: ${name}`;
}

export function renderMarkdown(run: BenchRun): string {
  const parts: string[] = [];
  parts.push(`# ${escapeMarkdown(reportTitle(run))}`);
  parts.push(escapeMarkdown(`${runFacts(run).join(', ')}.`));
  if (run.incomplete) {
    parts.push(
      '**Incomplete run:** it was stopped before its plan was done; the figures below are what was measured.',
    );
  }
  const demos = run.models.filter((model) => model.isDemo).map((model) => model.reference);
  if (demos.length > 0) parts.push(`> **Note:** ${escapeMarkdown(demoModelNote(demos))}`);

  parts.push('## Summary');
  parts.push(markdownTable(workshopTable(run)));
  parts.push(
    'Latency is end to end (E2E) over completed requests; Tokens/sec is output tokens over the measured window; Rounds counts measured requests; First Token is the mean TTFT.',
  );

  parts.push('## Throughput and errors');
  parts.push(markdownTable(throughputTable(run)));

  parts.push('## Latency (ms)');
  parts.push(markdownTable(latencyTable(run)));
  parts.push(
    DEFINITIONS.map(([term, meaning]) => `- **${term}**: ${escapeMarkdown(meaning)}`).join('\n'),
  );

  const server = serverSideTable(run);
  if (server !== undefined) {
    parts.push('## Server-side timings (ms)');
    parts.push(markdownTable(server));
  }

  const failures = failuresTable(run);
  if (failures !== undefined) {
    parts.push('## Failed requests');
    parts.push(markdownTable(failures.table));
    if (failures.unlisted > 0) parts.push(`…and ${failures.unlisted} more (see the CSV).`);
  }

  if (run.comparisons.length > 0) {
    parts.push('## Comparisons');
    parts.push(
      run.comparisons
        .map((comparison) => `- ${escapeMarkdown(comparisonLine(run, comparison))}`)
        .join('\n'),
    );
  }

  const lag = eventLoopLagText(run);
  if (lag !== undefined) {
    parts.push('## Client');
    parts.push(escapeMarkdown(lag));
  }

  parts.push('## Models');
  parts.push(markdownTable(modelsTable(run)));
  parts.push('## Settings');
  parts.push(markdownTable(settingsTable(run)));
  parts.push('## Machine');
  parts.push(markdownTable(machineTable(run)));
  return `${parts.join('\n\n')}\n`;
}
