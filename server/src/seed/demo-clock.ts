import { LedgerClock } from '../ledger/index.js';

/**
 * The ledger clock of the demo seeder: writes a history into the past. Before each batch the
 * seeder plans the simulated time of every transfer (and account) in it; the ledger asks the clock
 * for one timestamp per record it writes, in order, and `now` answers the planned time of the
 * record being written. The base class still keeps timestamps strictly increasing.
 */
export class DemoClock extends LedgerClock {
  private readonly sim: { now: number };
  private planned: readonly number[] = [];
  private cursor = 0;

  /** `start`: simulated time (µs since the epoch) until the first plan. */
  constructor(start: number) {
    const sim = { now: start };
    super(() => sim.now);
    this.sim = sim;
  }

  /** The simulated times of the next records the ledger will write, in order. */
  plan(times: readonly number[]): void {
    this.planned = times;
    this.cursor = 0;
  }

  /** Planned times not yet used (0 after a batch that went through as planned). */
  get unused(): number {
    return this.planned.length - this.cursor;
  }

  override next(floor = 0): number {
    if (this.cursor < this.planned.length) this.sim.now = this.planned[this.cursor++]!;
    return super.next(floor);
  }
}
