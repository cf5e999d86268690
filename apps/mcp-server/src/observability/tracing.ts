import { SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { Logger } from '@mcp-gw/shared';

export const tracer = trace.getTracer('@mcp-gw/mcp-server');

export { SpanStatusCode, type Span };

/**
 * Starts the OpenTelemetry SDK with an OTLP/HTTP trace exporter when OTEL_EXPORTER_OTLP_ENDPOINT is set;
 * otherwise the API's no-op tracer stays in place and spans cost nothing. Process-level: only the
 * standalone entry point (main.ts) calls this, never createMcpApp.
 */
export async function startTelemetry(options: { endpoint: string | undefined; serviceName: string; logger: Logger }): Promise<() => Promise<void>> {
  if (!options.endpoint) return async () => {};
  const [{ NodeSDK }, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  const endpoint = options.endpoint.replace(/\/+$/, '');
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    traceExporter: new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }),
  });
  sdk.start();
  options.logger.info({ endpoint }, 'OpenTelemetry tracing enabled');
  return () => sdk.shutdown();
}
