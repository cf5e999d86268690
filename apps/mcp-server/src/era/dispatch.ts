import type { IncomingMessage } from 'node:http';
import type { Logger } from '@mcp-gw/shared';
import { SUPPORTED_PROTOCOL_VERSIONS as LEGACY_VERSIONS } from '../mcp/sdk.js';
import { PROTOCOL_VERSION_META_KEY, classifyInboundRequest } from '../mcp/sdk-v2.js';

export type Era = 'legacy' | 'modern';

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

function envelopeVersion(body: unknown): string | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const meta = (body as { params?: { _meta?: Record<string, unknown> } }).params?._meta;
  const version = meta?.[PROTOCOL_VERSION_META_KEY];
  return typeof version === 'string' ? version : undefined;
}

/**
 * Which era a POST belongs to, decided here only and by the SDK's own classifier (the one
 * `createMcpHandler` runs), so the dispatch and the modern handler cannot disagree: a request with a
 * per-request `_meta` envelope (or a modern MCP-Protocol-Version header) is modern, and the modern
 * handler answers it, its validation errors included (-32020, -32022, -32602); everything else
 * (initialize, session traffic, batches, posted responses) belongs to a 2025-era session.
 *
 * One tolerance, deliberately: a 2026-07-28 envelope sent with `MCP-Protocol-Version: 2025-11-25` and
 * no session (reported of Claude's connectors) is served as the envelope says, with a warning, rather
 * than refused with -32020: the body is what is executed, and the header only repeats a version we
 * also serve. The header is rewritten to the envelope's version before the handler checks it.
 */
export function requestEra(req: IncomingMessage, body: unknown, logger: Logger): Era {
  const claimed = envelopeVersion(body);
  const versionHeader = header(req, 'mcp-protocol-version')?.trim();
  if (
    claimed !== undefined &&
    !LEGACY_VERSIONS.includes(claimed) &&
    versionHeader !== undefined &&
    versionHeader !== claimed &&
    LEGACY_VERSIONS.includes(versionHeader) &&
    header(req, 'mcp-session-id') === undefined
  ) {
    logger.warn({ header: versionHeader, envelope: claimed, client: req.headers['user-agent'] }, 'MCP-Protocol-Version header disagrees with the request envelope; serving the envelope version');
    req.headers['mcp-protocol-version'] = claimed;
  }
  const route = classifyInboundRequest({
    httpMethod: req.method ?? 'POST',
    protocolVersionHeader: header(req, 'mcp-protocol-version'),
    mcpMethodHeader: header(req, 'mcp-method'),
    mcpNameHeader: header(req, 'mcp-name'),
    body,
  });
  return route.kind === 'legacy' ? 'legacy' : 'modern';
}
