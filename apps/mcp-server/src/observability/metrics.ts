import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The app's Prometheus metrics, on a registry of its own (not prom-client's global one): two apps in
 * one process, or several test servers, never collide on metric names.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly toolCalls: Counter<'tool' | 'outcome'>;
  readonly toolDuration: Histogram<'tool' | 'outcome'>;
  readonly activeSessions: Gauge;
  readonly authFailures: Counter<'reason'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'mcp_' });
    this.httpRequests = new Counter({
      name: 'mcp_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [this.registry],
    });
    this.httpDuration = new Histogram({
      name: 'mcp_http_request_duration_seconds',
      help: 'HTTP request latency (until the response headers and body were handed over; SSE streams excluded)',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    this.toolCalls = new Counter({
      name: 'mcp_tool_calls_total',
      help: 'MCP tool calls by tool and outcome (success, tool_error, denied, rate_limited, error)',
      labelNames: ['tool', 'outcome'],
      registers: [this.registry],
    });
    this.toolDuration = new Histogram({
      name: 'mcp_tool_call_duration_seconds',
      help: 'MCP tool call latency by tool and outcome',
      labelNames: ['tool', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.activeSessions = new Gauge({
      name: 'mcp_active_sessions',
      help: 'Open MCP sessions on this instance',
      registers: [this.registry],
    });
    this.authFailures = new Counter({
      name: 'mcp_auth_failures_total',
      help: 'Refused requests at the bearer token check, by reason',
      labelNames: ['reason'],
      registers: [this.registry],
    });
  }
}
