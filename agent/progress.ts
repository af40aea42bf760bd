/**
 * Progress bars on a terminal (cli-progress): bytes done, throughput and ETA for the dump, upload,
 * download and restore stages. Nothing at all when stderr is not a TTY or with `--json`.
 */
import cliProgress from 'cli-progress';
import { formatBytes } from '#core/format';

/** Reports `done` of `total` bytes for a named stage. */
export type ProgressSink = (stage: string, done: number, total: number) => void;

/** A progress display: `update` from callbacks, `stop` when the command ends. */
export interface Progress {
  update: ProgressSink;
  stop(): void;
}

/** A display that shows nothing. */
export const NO_PROGRESS: Progress = { update: () => undefined, stop: () => undefined };

/**
 * Progress bars on `stream` (default stderr), one bar per stage, replaced when the stage changes.
 * @returns NO_PROGRESS when `enabled` is false or the stream is not a TTY.
 */
export function createProgress(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!enabled || !stream.isTTY) return NO_PROGRESS;
  let bar: cliProgress.SingleBar | undefined;
  let current = '';
  let started = 0;
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    update(stage, done, total) {
      if (stage !== current) {
        stop();
        current = stage;
        started = Date.now();
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: `${stage.padEnd(8)} [{bar}] {percentage}% · {doneText} of {totalText} · {rate}/s · ETA {eta_formatted}`,
            hideCursor: true,
            clearOnComplete: false,
            etaBuffer: 20,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(total, 1), 0, { doneText: '0 B', totalText: formatBytes(total), rate: '0 B' });
      }
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      bar?.update(Math.min(done, Math.max(total, 1)), { doneText: formatBytes(done), totalText: formatBytes(total), rate: formatBytes(Math.round(done / seconds)) });
    },
    stop,
  };
}
