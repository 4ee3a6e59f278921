/**
 * Every timer the sandbox starts (latency, held requests, notice retries, pending approvals), kept
 * in one place so `close()` can cancel them all and the process can exit.
 */
export class SandboxClosedError extends Error {
  constructor() {
    super('the sandbox is closed');
    this.name = 'SandboxClosedError';
  }
}

export class Timers {
  readonly #active = new Map<NodeJS.Timeout, () => void>();
  #closed = false;

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs `action` after `ms` unless cancelled or the sandbox closes; returns a cancel function. */
  after(ms: number, action: () => void): () => void {
    if (this.#closed) return () => {};
    const timer = setTimeout(() => {
      this.#active.delete(timer);
      action();
    }, ms);
    this.#active.set(timer, () => {});
    return () => {
      clearTimeout(timer);
      this.#active.delete(timer);
    };
  }

  /** Resolves after `ms`; rejects with SandboxClosedError if the sandbox closes first. */
  sleep(ms: number): Promise<void> {
    if (this.#closed) return Promise.reject(new SandboxClosedError());
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#active.delete(timer);
        resolve();
      }, ms);
      this.#active.set(timer, () => reject(new SandboxClosedError()));
    });
  }

  closeAll(): void {
    this.#closed = true;
    for (const [timer, onCancel] of this.#active) {
      clearTimeout(timer);
      onCancel();
    }
    this.#active.clear();
  }
}
