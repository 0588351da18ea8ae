/**
 * The stored bench runs for the Compare page: GET /api/bench/runs lists them, and each opens
 * as the same HTML report `tandem bench --report x.html` writes, at
 * /api/bench/runs/ID/report or, for a browser tab that carries no API key, at a /reports/
 * link that works once, within a minute.
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { getRun, listRuns } from '../../../bench/history/bench-store.js';
import { renderHtml } from '../../../bench/reports/html.js';
import type { Database } from '../../../store/database.js';
import { RunNotFoundError } from '../../../store/errors.js';
import type { ServerEnv } from '../../server-env.js';
import { apiError } from './api-error.js';
import type { BenchRunSummary, ListBody, ReportLink } from './api-types.js';

export interface BenchRunRoutes {
  /** Mounted at /api/bench/runs. */
  runs: Hono<ServerEnv>;
  /** Mounted at /reports: the links that /api/bench/runs/ID/report-link gives. */
  reports: Hono<ServerEnv>;
}

/** The two sub-apps share the one-time report links. */
export function benchRunRoutes(database: Database): BenchRunRoutes {
  const runs = new Hono<ServerEnv>();
  const reports = new Hono<ServerEnv>();

  runs.get('/', (c) =>
    c.json<ListBody<BenchRunSummary>>({
      data: listRuns(database, { limit: 50 }).map((run) => ({
        id: run.id,
        name: run.name,
        startedAt: run.startedAt,
        status: run.status,
        models: run.models,
        requests: run.requests,
      })),
    }),
  );

  // A stored bench run as the same HTML report `tandem bench --report x.html` writes.
  const report = (c: Context, runId: number) => {
    try {
      return c.html(renderHtml(getRun(database, runId)));
    } catch (error) {
      if (error instanceof RunNotFoundError) return apiError(c, 404, error.message);
      throw error;
    }
  };
  runs.get('/:id{[0-9]+}/report', (c) => report(c, Number(c.req.param('id'))));

  // A browser tab opened on a report sends no API key: with a key, the page asks for a link
  // that works once, within a minute, for that report only.
  const reportLinks = new Map<string, { runId: number; expiresAt: number }>();
  runs.post('/:id{[0-9]+}/report-link', (c) => {
    const now = Date.now();
    for (const [token, link] of reportLinks) {
      if (link.expiresAt < now) reportLinks.delete(token);
    }
    const token = randomBytes(24).toString('base64url');
    reportLinks.set(token, { runId: Number(c.req.param('id')), expiresAt: now + 60_000 });
    return c.json<ReportLink>({ url: `/reports/${token}` });
  });
  reports.get('/:token', (c) => {
    const link = reportLinks.get(c.req.param('token'));
    reportLinks.delete(c.req.param('token'));
    if (link === undefined || link.expiresAt < Date.now()) {
      return apiError(
        c,
        404,
        'This report link was used or is over a minute old: open the report again from the Compare page.',
      );
    }
    return report(c, link.runId);
  });
  return { runs, reports };
}
