/**
 * The wording of network failures, in one place: what a refused connection, a name that
 * does not resolve, a timeout or a TLS error says, and the host a message names. The codes
 * are found in a fetch failure's `cause` (and its chain); two wordings live here side by
 * side, the openai engine's (classifyNetworkError, describeNetworkCode) and the
 * downloads' (networkReason), each pinned by its messages' tests.
 */

/** The host (and port) a message names; the text itself when it is not a URL. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

export type NetworkFailure =
  /** Nothing listens there, or the name does not resolve: the server is not running. */
  | 'unreachable'
  /** The TCP connection was not established in time. */
  | 'connect-timeout'
  /** The connection was closed or reset. */
  | 'closed'
  | 'other';

const unreachableCodes = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);
const closedCodes = new Set([
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
const connectTimeoutCodes = new Set(['UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

/** The error codes in an error, its `cause` chain and an AggregateError's `errors`. */
export function networkErrorCodes(error: unknown): string[] {
  const codes: string[] = [];
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): void => {
    if (depth > 8 || typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    const code = (value as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    visit((value as { cause?: unknown }).cause, depth + 1);
    const errors = (value as { errors?: unknown }).errors;
    if (Array.isArray(errors)) for (const inner of errors) visit(inner, depth + 1);
  };
  visit(error, 0);
  return codes;
}

export function classifyNetworkError(error: unknown): {
  failure: NetworkFailure;
  code: string | undefined;
} {
  const codes = networkErrorCodes(error);
  for (const [failure, set] of [
    ['unreachable', unreachableCodes],
    ['connect-timeout', connectTimeoutCodes],
    ['closed', closedCodes],
  ] as const) {
    const code = codes.find((candidate) => set.has(candidate));
    if (code !== undefined) return { failure, code };
  }
  return { failure: 'other', code: codes[0] };
}

/** Words for a network error code in a message. */
export function describeNetworkCode(code: string | undefined): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to host';
    case 'ECONNRESET':
      return 'connection reset';
    case 'UND_ERR_SOCKET':
    case 'ERR_STREAM_PREMATURE_CLOSE':
      return 'connection closed';
    case undefined:
      return 'network error';
    default:
      return code;
  }
}

/** The network-level reason of a failed fetch, in a few words. */
export function networkReason(error: unknown): string {
  const cause =
    error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'DNS lookup failed';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection reset';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connection timed out';
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
      return 'network unreachable';
    case 'CERT_HAS_EXPIRED':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
      return `TLS error ${code}`;
    default:
      break;
  }
  if (code !== undefined) return code;
  const message =
    cause instanceof Error ? cause.message : error instanceof Error ? error.message : '';
  return (message.split('\n')[0] ?? '').trim() || 'network error';
}
