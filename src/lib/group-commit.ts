/**
 * Group commit: items submitted close together are handled in one batch (one transaction), and
 * each caller gets its own item's result once the batch is done. A batch is flushed when it is
 * full or `maxWaitMs` after its first item, and only one batch runs at a time, so under load the
 * batches grow by themselves.
 */
export class GroupCommit<T, R> {
  #pending: { item: T; resolve: (result: R) => void; reject: (error: unknown) => void }[] = [];
  #timer: NodeJS.Timeout | null = null;
  #running = false;

  constructor(
    private readonly handle: (items: T[]) => Promise<R[]>,
    private readonly options: { maxBatch: number; maxWaitMs: number },
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (this.#pending.length >= this.options.maxBatch) this.#flushSoon(0);
      else this.#flushSoon(this.options.maxWaitMs);
    });
  }

  #flushSoon(delayMs: number): void {
    if (this.#running) return; // the running batch flushes again when it ends
    if (this.#timer && delayMs > 0) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#flush(), delayMs);
  }

  async #flush(): Promise<void> {
    this.#timer = null;
    if (this.#running || !this.#pending.length) return;
    this.#running = true;
    const batch = this.#pending.splice(0, this.options.maxBatch);
    try {
      const results = await this.handle(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      this.#running = false;
      if (this.#pending.length) this.#flushSoon(this.#pending.length >= this.options.maxBatch ? 0 : this.options.maxWaitMs);
    }
  }
}
