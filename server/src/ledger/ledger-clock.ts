/**
 * Ledger timestamps: microseconds since the Unix epoch (fits a safe integer until year 2255),
 * strictly increasing within a process and never below the last timestamp of the accounts a
 * transfer touches, so every account's history is ordered even across several processes.
 */
export class LedgerClock {
  private last = 0;

  constructor(private readonly now: () => number = () => Date.now() * 1000) {}

  /** Raises the floor (e.g. to the newest timestamp already in the database). */
  observe(ts: number): void {
    if (ts > this.last) this.last = ts;
  }

  /** The next timestamp, greater than `floor`. */
  next(floor = 0): number {
    let ts = Math.max(this.now(), this.last + 1, floor + 1);
    if (!Number.isSafeInteger(ts)) ts = this.last + 1;
    this.last = ts;
    return ts;
  }

  nowMicros(): number {
    return this.now();
  }
}
