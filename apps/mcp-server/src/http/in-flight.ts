import type { ServerResponse } from 'node:http';

/** The /mcp POSTs being answered now (tool calls…), so a drain can wait for them to finish. */
export class InFlightRequests {
  private count = 0;
  private readonly idleWaiters: (() => void)[] = [];

  get size(): number {
    return this.count;
  }

  track(res: ServerResponse): void {
    this.count += 1;
    res.once('close', () => {
      this.count -= 1;
      if (this.count === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    });
  }

  /** Resolves true once none is in flight, or false after `timeoutMs`. */
  async idle(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return drained;
  }
}
