/**
 * Keeps up to `concurrency` charges in flight: fetches charge jobs from pg-boss in batches,
 * charges each batch (claim together, send concurrently, record together), and completes the
 * jobs. When the queue runs low it asks the scheduler for more.
 */
import type { Job, PgBoss } from 'pg-boss';
import type { Logger } from '../lib/logger.ts';
import { QUEUES, type ChargeJob } from '../jobs/queue.ts';

export interface PumpSettings {
  concurrency: number;
  batchSize: number;
  /** Wait between polls of an empty queue. */
  idlePollMs: number;
}

export class ChargePump {
  #inFlight = 0;
  #running = false;
  #wake: (() => void) | null = null;
  #loop: Promise<void> | null = null;
  readonly #idle = new Set<() => void>();

  constructor(
    private readonly boss: PgBoss,
    private readonly settings: PumpSettings,
    private readonly charge: (subscriptionIds: string[]) => Promise<unknown>,
    private readonly onLowQueue: () => void,
    private readonly logger: Logger,
  ) {}

  get inFlight(): number {
    return this.#inFlight;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Wakes the loop (new jobs were queued). */
  notify(): void {
    this.#wake?.();
  }

  /** Stops fetching and waits up to `graceMs` for in-flight charges. Returns true if all finished. */
  async stop(graceMs: number): Promise<boolean> {
    this.#running = false;
    this.notify();
    await this.#loop;
    if (this.#inFlight === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const drained = new Promise<boolean>((resolve) => {
      const done = () => resolve(true);
      this.#idle.add(done);
      timer = setTimeout(() => {
        this.#idle.delete(done);
        resolve(false);
      }, graceMs);
    });
    const result = await drained;
    clearTimeout(timer);
    return result;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const room = this.settings.concurrency - this.#inFlight;
      if (room <= 0) {
        await this.#sleep(60_000); // woken when a batch finishes
        continue;
      }
      const wanted = Math.min(room, this.settings.batchSize);
      let jobs: Job<ChargeJob>[] = [];
      try {
        jobs = await this.boss.fetch<ChargeJob>(QUEUES.charge, { batchSize: wanted });
      } catch (error) {
        this.logger.error({ err: error }, 'could not fetch charge jobs');
        await this.#sleep(this.settings.idlePollMs);
        continue;
      }
      if (jobs.length < wanted) this.onLowQueue();
      if (!jobs.length) {
        await this.#sleep(this.settings.idlePollMs);
        continue;
      }
      this.#inFlight += jobs.length;
      void this.#process(jobs).finally(() => {
        this.#inFlight -= jobs.length;
        if (this.#inFlight === 0) for (const done of this.#idle) done();
        this.notify();
      });
    }
  }

  async #process(jobs: Job<ChargeJob>[]): Promise<void> {
    const ids = jobs.map((j) => j.id);
    try {
      await this.charge([...new Set(jobs.map((j) => j.data.subscriptionId))]);
      await this.boss.complete(QUEUES.charge, ids);
    } catch (error) {
      this.logger.error({ err: error, jobs: ids.length }, 'charge batch failed; its jobs will be retried');
      await this.boss.fail(QUEUES.charge, ids).catch(() => undefined);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }
}
