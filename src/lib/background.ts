/** Small helpers for work the worker runs in the background. */
import type { Logger } from './logger.ts';

/**
 * Runs `fn` on request, never twice at once; requests made while it runs cause exactly one more
 * run afterwards (they are coalesced).
 */
export class CoalescedTask {
  #running: Promise<void> | null = null;
  #again = false;

  constructor(
    private readonly name: string,
    private readonly fn: () => Promise<unknown>,
    private readonly logger: Logger,
  ) {}

  request(): void {
    void this.run();
  }

  /** Runs now (or after the current run) and resolves when a run that started after this call ends. */
  run(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        try {
          await this.fn();
        } catch (error) {
          this.logger.error({ err: error, task: this.name }, `${this.name} failed`);
        }
      } while (this.#again);
      this.#running = null;
    })();
    return this.#running;
  }

  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }
}

/** Runs a CoalescedTask every `intervalMs`, and at once when poked. */
export class Periodic {
  #timer: NodeJS.Timeout | null = null;

  constructor(
    readonly task: CoalescedTask,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.#timer ??= setInterval(() => this.task.request(), this.intervalMs);
  }

  poke(): void {
    this.task.request();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.task.idle();
  }
}
