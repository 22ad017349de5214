import cliProgress from 'cli-progress';

/** Progress of a long seeding step. */
export interface Progress {
  update(done: number): void;
  stop(): void;
}

export type ProgressFactory = (label: string, total: number) => Progress;

/**
 * Progress on stderr (stdout stays for results such as the demo logins). On a terminal: a
 * cli-progress bar. Otherwise — a pipe, a log file, CI — cli-progress draws nothing by default
 * (its noTTYOutput is off), so a few plain lines are printed instead: 25 %, 50 %, 75 %, done.
 */
export function stderrProgress(stream: NodeJS.WriteStream = process.stderr): ProgressFactory {
  return (label, total) => {
    if (stream.isTTY) {
      const bar = new cliProgress.SingleBar(
        {
          stream,
          format: `${label.padEnd(28)} [{bar}] {percentage}% {value}/{total} ETA {eta_formatted}`,
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0);
      return {
        update: (done) => bar.update(done),
        stop: () => {
          bar.update(total);
          bar.stop();
        },
      };
    }
    const started = Date.now();
    let step = 0;
    stream.write(`${label}: 0/${total}\n`);
    return {
      update(done) {
        const reached = Math.floor((done / Math.max(total, 1)) * 4);
        if (reached > step && done < total) {
          step = reached;
          stream.write(`${label}: ${done}/${total} (${step * 25}%)\n`);
        }
      },
      stop() {
        stream.write(`${label}: ${total}/${total} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      },
    };
  };
}

export const silentProgress: ProgressFactory = () => ({ update: () => undefined, stop: () => undefined });
