/** One HTTP exchange an MCP client made with the MCP URL, as it went over the wire. */
export interface WireExchange {
  method: string;
  requestHeaders: Headers;
  /** The parsed JSON-RPC message(s) of a POST (undefined for GET and DELETE). */
  request: any;
  status: number;
  responseHeaders: Headers;
  /** The JSON-RPC messages of the answer (JSON or every `data:` line of an SSE body); empty when none. */
  response: Promise<any[]>;
}

function parseMessages(contentType: string, text: string): any[] {
  if (!text) return [];
  if (contentType.includes('text/event-stream')) {
    return text
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trim())
      .filter(Boolean)
      .map((data) => JSON.parse(data));
  }
  const parsed = JSON.parse(text);
  return Array.isArray(parsed) ? parsed : [parsed];
}

/**
 * A fetch for an SDK transport that records what the client sends to and receives from the MCP URL
 * (OAuth requests to other URLs pass through unrecorded). Long-lived GET streams are not read.
 */
export function recordingFetch(mcpUrl: string): { fetch: typeof fetch; exchanges: WireExchange[] } {
  const exchanges: WireExchange[] = [];
  const target = new URL(mcpUrl).href;
  const recorder = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    if (new URL(request.url).href !== target) return fetch(request);
    const body = request.method === 'POST' ? await request.clone().text() : '';
    const response = await fetch(request);
    const copy = request.method === 'POST' ? response.clone() : undefined;
    exchanges.push({
      method: request.method,
      requestHeaders: request.headers,
      request: body ? JSON.parse(body) : undefined,
      status: response.status,
      responseHeaders: response.headers,
      response: copy ? copy.text().then((text) => parseMessages(response.headers.get('content-type') ?? '', text)) : Promise.resolve([]),
    });
    return response;
  };
  return { fetch: recorder as typeof fetch, exchanges };
}

/** The POSTed JSON-RPC requests (with an id) of a log, with the answer to each. */
export async function requestsOf(exchanges: WireExchange[]): Promise<{ exchange: WireExchange; request: any; answer: any }[]> {
  const out: { exchange: WireExchange; request: any; answer: any }[] = [];
  for (const exchange of exchanges) {
    if (exchange.method !== 'POST' || !exchange.request || Array.isArray(exchange.request) || exchange.request.id === undefined) continue;
    const messages = await exchange.response;
    out.push({ exchange, request: exchange.request, answer: messages.find((m) => m.id === exchange.request.id) });
  }
  return out;
}
