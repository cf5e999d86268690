import type { Logger } from './logger.js';

/** What a subscription needs of its Redis connection (an ioredis client, given lazyConnect and autoResubscribe off). */
export interface SubscriberConnection {
  readonly status: string;
  on(event: 'ready' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  connect(): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(): void;
}

/**
 * One Redis channel subscription that knows whether it is live: from the moment Redis acknowledged
 * the SUBSCRIBE until the connection drops. ioredis reports 'ready' before its own re-subscription
 * is acknowledged, so the connection must not re-subscribe by itself (autoResubscribe: false): this
 * subscribes on every (re)connection and only then counts as live. What depends on hearing every
 * message (a replica remembering grants, a revocation waiting for confirmations) asks `live`.
 */
export class LiveSubscription {
  private isLive = false;
  private stopped = false;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly connection: SubscriberConnection,
    private readonly channel: string,
    onMessage: (message: string) => void,
    private readonly options: { logger: Logger; name: string; onLiveChange?: (live: boolean) => void },
  ) {
    connection.on('error', (err) => options.logger.warn({ err }, `${options.name}: redis error`));
    connection.on('close', () => this.setLive(false));
    connection.on('ready', () => {
      if (this.stopped) return;
      connection
        .subscribe(channel)
        .then(() => this.setLive(connection.status === 'ready' && !this.stopped))
        .catch((err) => options.logger.warn({ err }, `${options.name}: cannot subscribe now; will retry with the connection`));
    });
    connection.on('message', (from, message) => {
      if (from === channel) onMessage(message);
    });
  }

  get live(): boolean {
    return this.isLive;
  }

  /** Connects (once; ioredis retries on its own and reports why through 'error'). */
  async connect(): Promise<void> {
    if (this.connection.status !== 'wait') return;
    await this.connection.connect().catch((err) => this.options.logger.warn({ err }, `${this.options.name}: cannot connect now; will retry`));
  }

  /** Whether the subscription is live, waiting for it at most `ms` (first use, a reconnection). */
  async whenLive(ms: number): Promise<boolean> {
    if (this.isLive) return true;
    void this.connect();
    let done: () => void = () => {};
    let timer: NodeJS.Timeout | undefined;
    const live = await new Promise<boolean>((resolve) => {
      done = () => resolve(true);
      this.waiters.add(done);
      timer = setTimeout(() => resolve(false), ms);
    });
    clearTimeout(timer);
    this.waiters.delete(done);
    return live;
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.setLive(false);
    await this.connection.quit().catch(() => this.connection.disconnect());
  }

  private setLive(value: boolean): void {
    if (value === this.isLive) return;
    this.isLive = value;
    this.options.onLiveChange?.(value);
    if (value) for (const resolve of this.waiters) resolve();
  }
}
