/**
 * A minimal Streamable HTTP MCP client over fetch, for load: it exposes every HTTP status (the SDK's
 * client hides them) and parses both JSON and SSE answers.
 */
export class RawMcpSession {
  sessionId: string | undefined;
  private nextId = 1;
  readonly statuses = new Map<number, number>();

  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  private count(status: number) {
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
  }

  async post(body: unknown, timeoutMs = 30_000): Promise<{ status: number; message?: { result?: unknown; error?: { code: number; message: string } } }> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${this.token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
        ...(this.sessionId ? { 'mcp-session-id': this.sessionId } : {}),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    this.count(response.status);
    const sid = response.headers.get('mcp-session-id');
    if (sid) this.sessionId = sid;
    const text = await response.text();
    if (!text) return { status: response.status };
    if ((response.headers.get('content-type') ?? '').includes('text/event-stream')) {
      const data = text
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim())
        .filter(Boolean)
        .map((d) => JSON.parse(d))
        .find((m) => 'result' in m || 'error' in m);
      return { status: response.status, message: data };
    }
    return { status: response.status, message: JSON.parse(text) };
  }

  async initialize(): Promise<void> {
    const init = await this.post({
      jsonrpc: '2.0',
      id: this.nextId++,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'soak', version: '1' } },
    });
    if (init.status !== 200 || !this.sessionId) throw new Error(`initialize failed: ${init.status} ${JSON.stringify(init.message)}`);
    await this.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  async callTool(name: string, args: Record<string, unknown>) {
    const answer = await this.post({ jsonrpc: '2.0', id: this.nextId++, method: 'tools/call', params: { name, arguments: args } });
    const result = answer.message?.result as { isError?: boolean; structuredContent?: Record<string, unknown>; content?: { text?: string }[] } | undefined;
    return { status: answer.status, result, error: answer.message?.error };
  }
}
