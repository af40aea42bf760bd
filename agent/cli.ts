/**
 * The `commserve-dr` command line: every command and option is declared here; `exec(args)` runs one
 * command and returns its exit code (SPEC §11: 0 success, 1 failure, 2 usage error, 3 completed with
 * one or more errors) without touching `process`, so it is testable in-process.
 *
 * Results go to stdout (tables for people, `--json` for scripts); logs and progress go to stderr.
 * Operator mistakes print one line, never a stack trace.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { CommserveDrError, describeError, ExitCode, JobLockedError, UsageError } from '#core/errors';
import { exitCodeForStatus, JobStatus } from '#core/job-status';
import type { JobRecord } from '#core/job';
import type { Settings } from '#core/settings';
import type { JobJournal as JobJournalType } from './history/job-journal';
import { BackupType, canonicalSetName, parseBackupType, SET_ARGUMENT_FORM } from '#core/set-id';
import { parseRetrievalTier, type RetrievalTier } from '#core/recovery';
import { parseWholeNumber } from '#core/cli-values';
import { AGENT_VERSION } from './version';
import { setInterruptedCommand } from './shutdown';
import type { LogFormat } from './log';
import { DEFAULT_SAMPLE_BYTES } from './local/sample-size';
// Everything else (the AWS SDK, SQLite, pino, the commands themselves) is imported by the command that
// needs it, so `--help` and the local-only commands start without loading it (test/e2e/built-cli.test.ts).

/** Where a command writes: results to `stdout`, logs and progress to `stderr`. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
  /** Whether a person is at a terminal (stdin and stdout are TTYs): `prune` asks before deleting. Default false. */
  isTTY?: boolean;
  /** Asks a question on the terminal and returns the answer (used only when `isTTY`). */
  prompt?: (question: string) => Promise<string>;
}

const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  cwd: process.cwd(),
  isTTY: Boolean(process.stdin.isTTY && process.stdout.isTTY),
  prompt: askOnTerminal,
};

/** One question on the terminal (stdin/stderr), the answer line back. */
async function askOnTerminal(question: string): Promise<string> {
  const { createInterface } = require('node:readline/promises') as typeof import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

/** `SET_7`, `SET_007`, `set_0007` → the canonical SET name; anything else is a usage error saying the accepted form. */
function setArgument(value: string): string {
  const name = canonicalSetName(value);
  if (!name) throw new InvalidArgumentError(`expected ${SET_ARGUMENT_FORM}`);
  return name;
}

/**
 * The `--from` folder of `sets`, `recover`, `fetch` and `verify`, resolved against `cwd`; undefined when not given.
 * @throws UsageError for an empty value: like `--to`, it is never taken to be the current directory (newcomer review).
 */
function fromFolder(from: string | undefined, cwd: string): string | undefined {
  if (from === undefined) return undefined;
  if (from.trim() === '') throw new UsageError('--from names no folder: give the folder of SET_<n> folders explicitly (it is never taken to be the current directory)');
  return resolve(cwd, from);
}

/** How the config file was found, in words. */
const CONFIG_FILE_FOUND_BY = { option: '--config', 'working-directory': 'working directory', machine: 'machine-wide location' } as const;

/** The JSON error document `--json` prints on stdout when a command stops with an error (exit code 1 or 2). */
function errorDocument(code: string, message: string, exitCode: number): string {
  return `${JSON.stringify({ error: { code, message }, exitCode }, null, 2)}\n`;
}

/**
 * {@link errorDocument} for `command`: `recover`'s, `fetch`'s and `verify`'s is that command's whole document (status
 * `failed`, every key of a successful one, `exitCode`), so a script reads one shape whatever happened; `to` is
 * `recover --to` as given, `setArg` the SET argument of `fetch`, if any.
 */
function commandErrorDocument(command: string | undefined, code: string, message: string, exitCode: number, to: string | null, setArg: string | null): string {
  if (command === 'fetch') {
    const { failedFetchDocument } = require('./commands/recover/fetch') as typeof import('./commands/recover/fetch');
    return `${JSON.stringify(failedFetchDocument({ code, message }, exitCode, setArg), null, 2)}\n`;
  }
  if (command === 'verify') {
    const { failedVerifyDocument } = require('./commands/recover/verify') as typeof import('./commands/recover/verify');
    return `${JSON.stringify(failedVerifyDocument({ code, message }, exitCode), null, 2)}\n`;
  }
  if (command !== 'recover') return errorDocument(code, message, exitCode);
  const { failedRecoveryDocument } = require('./commands/recover/recover') as typeof import('./commands/recover/recover');
  return `${JSON.stringify(failedRecoveryDocument({ code, message }, exitCode, to), null, 2)}\n`;
}

/** The value of `--to` in `args` (`--to DIR` or `--to=DIR`), resolved against `cwd`; null when absent or empty. */
function toArgument(args: readonly string[], cwd: string): string | null {
  const at = args.indexOf('--to');
  const value = at >= 0 ? args[at + 1] : args.find((a) => a.startsWith('--to='))?.slice('--to='.length);
  return value && value.trim() !== '' && !value.startsWith('--') ? resolve(cwd, value) : null;
}

/** Parses an endpoint option: an http(s) URL. @throws InvalidArgumentError (a usage error naming the option and value). */
function endpointOption(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected an http:// or https:// URL, e.g. http://127.0.0.1:5000');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('expected an http:// or https:// URL, e.g. http://127.0.0.1:5000');
  return value;
}

function backupTypeOption(value: string): BackupType {
  const type = parseBackupType(value);
  if (!type) throw new InvalidArgumentError('expected full, differential or log');
  return type;
}

/** A count typed on the command line (`report --history N`). @throws InvalidArgumentError (usage error, exit 2) with the reason. */
function wholeNumberOption(value: string): number {
  const parsed = parseWholeNumber(value);
  if ('reason' in parsed) throw new InvalidArgumentError(parsed.reason);
  return parsed.value;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

interface GlobalOptions {
  config?: string;
  settingsParameterPath?: string;
  json?: boolean;
  verbose?: boolean;
  logFormat?: LogFormat;
}

/**
 * Runs the command line `args` (without the node and script names) and returns the exit code.
 * Never throws: every error becomes a one-line message on stderr and an exit code.
 */
export async function exec(args: string[], io: CliIo = defaultIo): Promise<number> {
  let exitCode: number = ExitCode.Success;
  const program = new Command('commserve-dr')
    .description('Disaster-recovery backups of a CommServe (database, registry, firewall files) to an AWS hot-site.')
    .option('--config <file>', 'settings file (default: commserve-dr.config.json if present in the working directory, else in the machine-wide location, else the embedded local defaults)')
    .option('--settings-parameter-path <path>', 'read settings from SSM Parameter Store under this path (e.g. /commserve-dr/default)')
    .option('--json', 'print one JSON document on stdout')
    .option('-v, --verbose', 'more detail in the logs (stderr)')
    .addOption(new Option('--log-format <format>', 'log lines on stderr: pretty (default on a terminal) or json (default otherwise)').choices(['pretty', 'json']))
    .option('--version', 'print the version (with --json: {"version": …})')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    // Every command's --help also lists the global options (--config, --json, -v, --log-format).
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(run commserve-dr --help for usage)')
    .hook('preAction', (_program, action) => {
      const parent = action.parent && action.parent !== program ? `${action.parent.name()} ` : '';
      setInterruptedCommand(`${parent}${action.name()}`);
    });

  /** A failed job also ends with one line on stderr naming the problem. */
  const reportFailure = (record: JobRecord) => {
    if (record.status !== JobStatus.Failed) return;
    const error = [...record.events].reverse().find((e) => e.level === 'error');
    io.stderr(`commserve-dr: DR job failed: ${error ? error.message : 'no usable SET'}\n`);
  };

  /** Prints a recover/fetch/verify result (JSON document or text) and returns its exit code. */
  const printResult = (opts: GlobalOptions, result: { document: unknown; text: string; exitCode: number }): number => {
    io.stdout(opts.json ? `${JSON.stringify(result.document, null, 2)}\n` : result.text);
    return result.exitCode;
  };

  // Modules beyond commander and the small core are required inside the command that needs them
  // (`require(…) as typeof import(…)`: synchronous, typed, and bundled lazily by the build).

  /** The global options and the settings loader: all a command that neither logs nor shows progress needs. */
  const settingsContext = () => {
    const opts = program.opts<GlobalOptions>();
    const config = () =>
      (require('./config') as typeof import('./config')).loadEffectiveConfig(opts.config, io.cwd, process.env, undefined, { settingsParameterPath: opts.settingsParameterPath });
    return { opts, config };
  };

  /** `settingsContext` plus the logger (stderr) and the progress bar, for the commands that run a job. */
  const context = () => {
    const { opts, config } = settingsContext();
    const { createLogger } = require('./log') as typeof import('./log');
    const { createProgress } = require('./progress') as typeof import('./progress');
    const logger = createLogger({ verbose: opts.verbose, format: opts.logFormat, write: io === defaultIo ? undefined : io.stderr });
    const progress = createProgress(!opts.json);
    const status = (line: string) => {
      progress.stop();
      if (!opts.json) io.stderr(`${line}\n`);
    };
    return { opts, logger, status, progress, config };
  };

  /** The hot-site S3 client (the AWS SDK is loaded by the first command that needs it). */
  const hotSiteClient = (target: Parameters<typeof import('./hotsite/hot-site').createHotSiteClient>[0], options?: { maxAttempts?: number }) =>
    (require('./hotsite/hot-site') as typeof import('./hotsite/hot-site')).createHotSiteClient(target, options);

  /** The `AnsiCodePage` setting (REGEDIT4 files). */
  const ansiCodePageSetting = async (): Promise<number> => (await settingsContext().config()).settings.AnsiCodePage;

  program
    .command('start')
    .description('run one DR backup job of the local CommServe end to end, with moto server as the hot-site (no AWS account)')
    .addOption(
      new Option('--type <type>', 'full, differential or log; default: FULL when there is no open cycle or it holds LocalDifferentialsPerCycle DIFFERENTIALs, else DIFFERENTIAL').argParser(
        backupTypeOption,
      ),
    )
    .option('--shrink', 'compact the database before the dump')
    .option('--sample-size-mb <mb>', 'size of the sample CommServe created on first run (MB)', positiveNumber, DEFAULT_SAMPLE_BYTES / 1024 / 1024)
    .option('--s3-endpoint <url>', 'use this running S3 stand-in instead of starting moto server', endpointOption)
    .addHelpText('after', '\nExamples:\n  $ commserve-dr start\n  $ commserve-dr start --type differential\n  $ commserve-dr start --type log\n  $ commserve-dr start --sample-size-mb 20 --json')
    .action(async (cmd: { type?: BackupType; shrink?: boolean; sampleSizeMb: number; s3Endpoint?: string }) => {
      const { opts, logger, status, progress, config } = context();
      const { settings } = await config();
      const { runLocalJob } = require('./local/local-run') as typeof import('./local/local-run');
      const { formatJobSummary } = require('./commands/backup/summary') as typeof import('./commands/backup/summary');
      const result = await runLocalJob({
        settings,
        backupType: cmd.type ?? 'auto',
        shrink: cmd.shrink,
        logger,
        sampleSizeBytes: Math.round(cmd.sampleSizeMb * 1024 * 1024),
        s3Endpoint: cmd.s3Endpoint,
        onStatus: status,
        onProgress: progress.update,
      }).finally(() => progress.stop());
      if (opts.json) {
        io.stdout(`${JSON.stringify({ record: result.record, durationsMs: result.execution.stateDurationsMs, endpoint: result.endpoint, refill: result.refill, sampleRowsChanged: result.sampleRowsChanged, sampleActivity: result.sampleActivity }, null, 2)}\n`);
      } else {
        io.stdout(formatJobSummary(result.record, { durationsMs: result.execution.stateDurationsMs, totalMs: result.totalMs, hotSiteNote: result.motoStarted ? `moto server at ${result.endpoint}, stopped` : result.endpoint }));
      }
      reportFailure(result.record);
      exitCode = exitCodeForStatus(result.record.status);
    });

  program
    .command('backup')
    .description('one DR backup job: phase 1 on this CommServe, upload to the hot-site, then phase 2')
    .addOption(new Option('--type <type>', 'full, differential or log (a LOG point of the open cycle)').argParser(backupTypeOption).default(BackupType.Full, 'full'))
    .option('--shrink', 'compact the database before the dump')
    .option('--task-token <token>', 'started by the DR job state machine: report phase 1 through this Step Functions task token')
    .addHelpText('after', '\nExamples:\n  $ commserve-dr backup\n  $ commserve-dr backup --type differential --json')
    .action(async (cmd: { type: BackupType; shrink?: boolean; taskToken?: string }) => {
      const { opts, logger, progress, config } = context();
      const loaded = await config();
      const { sfnClient } = require('./aws/clients') as typeof import('./aws/clients');
      const { requireProductionPaths } = require('./config-location') as typeof import('./config-location');
      const { phase2Route, startPhase2 } = require('./commands/backup/start-phase2') as typeof import('./commands/backup/start-phase2');
      const { runPhase1 } = require('./commands/backup/phase1') as typeof import('./commands/backup/phase1');
      const { runWithCallback, sfnTaskCallback } = require('./commands/backup/callback') as typeof import('./commands/backup/callback');
      const { LogSkippedError, scheduledLogWaitMs } = require('./commands/backup/log-wait') as typeof import('./commands/backup/log-wait');
      const { createMetricsPublisher } = require('./metrics/metrics') as typeof import('./metrics/metrics');
      // A scheduled job (or any job against AWS) must not depend on the working directory: relative paths are refused,
      // and an unset StateDirectory becomes the machine-wide one (agent/config-location.ts).
      const production = cmd.taskToken ? 'scheduled job (--task-token)' : loaded.settings.HotSite.endpoint ? null : 'job against AWS';
      const { JobJournal } = require('./history/job-journal') as typeof import('./history/job-journal');
      // The job's journal: a Killed record if the process is interrupted before the job's record is written.
      const openJournal = (settings: Settings) => JobJournal.open(settings, { s3: hotSiteClient(settings.HotSite), bucket: settings.HotSite.bucket }, (m) => logger.warn(m));
      const phase1 = (settings: Settings, journal: JobJournalType, heartbeat?: () => Promise<void>) =>
        runPhase1({
          settings,
          requestedType: cmd.type,
          shrink: cmd.shrink,
          s3: hotSiteClient(settings.HotSite),
          logger,
          heartbeat,
          onProgress: progress.update,
          metrics: createMetricsPublisher(settings, logger),
          journal,
          // A scheduled LOG point (heartbeat = started by the state machine) waits for a running job, then is skipped.
          ...(heartbeat && cmd.type === 'LOG' ? { logLockWait: { waitMs: scheduledLogWaitMs(settings.LogBackupIntervalMinutes), heartbeat } } : {}),
        });
      if (cmd.taskToken) {
        // Phase 1 for the state machine: it runs phase 2 (and ReportJob writes the record) when we call back. A refused
        // setting is reported through the callback too, so the execution fails at once with the reason instead of at
        // the heartbeat timeout.
        const sfn = sfnClient(loaded.settings.HotSite);
        let journal: JobJournalType | undefined;
        const result = await runWithCallback(
          sfnTaskCallback(sfn, cmd.taskToken),
          (heartbeat) => {
            const { settings } = requireProductionPaths(loaded, production!);
            journal = openJournal(settings);
            return phase1(settings, journal, heartbeat);
          },
          (e) => logger.warn({ err: describeError(e) }, 'a state machine callback (heartbeat or SendTaskFailure) failed'),
        )
          .catch((error: unknown) => {
            // Skipped with a record (the running job's record names it); the execution ends in LogSkipped.
            if (error instanceof LogSkippedError) return error;
            throw error;
          })
          .finally(() => {
            progress.stop();
            journal?.finish();
          });
        if (result instanceof LogSkippedError) {
          io.stdout(opts.json ? `${JSON.stringify({ skipped: true, code: result.code, message: result.message }, null, 2)}\n` : `${result.message}\n`);
          exitCode = ExitCode.Success;
          return;
        }
        io.stdout(opts.json ? `${JSON.stringify(result, null, 2)}\n` : `phase 1 of job ${result.jobId} done (${result.setName}, ${result.status}); the state machine continues with phase 2\n`);
        exitCode = exitCodeForStatus(result.status);
        return;
      }
      const { settings } = production ? requireProductionPaths(loaded, production) : loaded;
      const s3 = hotSiteClient(settings.HotSite);
      // Started by hand: phase 1, then phase 2 on the DR job state machine (the Lambdas' roles), or in-process
      // with the same definition for a local stand-in. Decided before phase 1, so a bad setting costs no dump.
      const route = phase2Route(settings);
      const journal = openJournal(settings);
      const p1 = await phase1(settings, journal)
        .catch((error: unknown) => error as Error)
        .finally(() => progress.stop());
      if (p1 instanceof JobLockedError) {
        journal.finish();
        throw p1; // a refused second start is not a job: no record, no JobFailed
      }
      if (route.kind === 'state-machine' && !(p1 instanceof Error)) {
        // ReportJob writes the record in AWS; a failed StartExecution leaves a committed SET the next job finishes.
        const executionArn = await startPhase2(sfnClient(settings.HotSite), route.stateMachineArn, cmd.type, p1).finally(() => journal.finish());
        io.stdout(
          opts.json
            ? `${JSON.stringify({ phase1: p1, executionArn }, null, 2)}\n`
            : `phase 1 of job ${p1.jobId} done (${p1.setName}, ${p1.status}); phase 2 started on the state machine: ${executionArn}\n`,
        );
        exitCode = exitCodeForStatus(p1.status);
        return;
      }
      const { executeDrJobLocally } = require('./local/local-state-machine') as typeof import('./local/local-state-machine');
      const { tryRecordJobAnywhere } = require('./history/job-journal') as typeof import('./history/job-journal');
      const { formatJobSummary } = require('./commands/backup/summary') as typeof import('./commands/backup/summary');
      // In-process phase 2 — also for a failed phase 1 (RunPhase1 fails → ReportJob), so it has a record and the
      // JobFailed metric whichever route phase 2 would have taken.
      journal.stage('phase 2');
      const execution =
        p1 instanceof Error
          ? await executeDrJobLocally({ input: { backupType: cmd.type }, s3, settings, phase1: () => Promise.reject(p1) })
          : await executeDrJobLocally({ input: { backupType: cmd.type, phase1: p1 }, s3, settings });
      tryRecordJobAnywhere(settings, execution.record, (e) => logger.warn(`job record not written locally: ${describeError(e)}`));
      journal.finish();
      reportFailure(execution.record);
      io.stdout(opts.json ? `${JSON.stringify(execution.record, null, 2)}\n` : formatJobSummary(execution.record, { durationsMs: execution.stateDurationsMs }));
      exitCode = exitCodeForStatus(execution.record.status);
    });

  program
    .command('sample-db')
    .description('create a realistic sample CommServe (SQLite database, registry hive, firewall files)')
    .requiredOption('--dir <dir>', 'directory to create it in')
    .option('--size-mb <mb>', 'database size (MB)', positiveNumber, 100)
    .option('--seed <n>', 'seed (same seed and size give the same database)', (v) => Number.parseInt(v, 10), 1)
    .option('--force', 'replace a database that already exists in the directory')
    .addHelpText('after', '\nExample:\n  $ commserve-dr sample-db --dir ./cs --size-mb 20 --seed 7')
    .action(async (cmd: { dir: string; sizeMb: number; seed: number; force?: boolean }) => {
      const { opts } = settingsContext();
      const existing = resolve(io.cwd, cmd.dir, 'commserv.db');
      if (existsSync(existing) && !cmd.force) throw new UsageError(`${existing} already exists: sample-db would replace it (use --force to do so)`);
      const { generateSampleCommServe } = require('./local/sample-db/index') as typeof import('./local/sample-db/index');
      const sample = await generateSampleCommServe({ dir: resolve(io.cwd, cmd.dir), sizeBytes: Math.round(cmd.sizeMb * 1024 * 1024), seed: cmd.seed });
      io.stdout(opts.json ? `${JSON.stringify(sample, null, 2)}\n` : `sample CommServe created: ${sample.dbPath} (${(sample.sizeBytes / 1024 / 1024).toFixed(1)} MB)\n`);
    });

  program
    .command('sets')
    .description('SETs and cycles in every copy (phase-1 destination, hot-site, archive): type, status, size, cycle verdicts, and per copy what exists, when it was last checked and what is damaged (exit 3 when a copy is damaged or could not be reached)')
    .option('--local-only', 'look only at the phase-1 destination (do not list the hot-site)')
    .option('--from <dir>', 'read only this folder of SET_<n> folders (a USB disk, a mounted share); no cloud contacted')
    .option('--check', 'check the content of every file of every copy now (SHA-256 on disk, S3 stored checksums); read-only')
    .addHelpText('after', '\nExamples:\n  $ commserve-dr sets\n  $ commserve-dr sets --local-only --json\n  $ commserve-dr sets --from /mnt/usb/dr-backups --check')
    .action(async (cmd: { localOnly?: boolean; from?: string; check?: boolean }) => {
      const { opts, config } = settingsContext();
      const { settings } = await config();
      const { runSets } = require('./commands/sets/run') as typeof import('./commands/sets/run');
      const { formatSets } = require('./commands/sets/sets') as typeof import('./commands/sets/sets');
      const from = fromFolder(cmd.from, io.cwd);
      const s3 = cmd.localOnly || from !== undefined ? null : hotSiteClient(settings.HotSite, { maxAttempts: 1 });
      const result = await runSets({ settings, s3, from, check: cmd.check });
      io.stdout(opts.json ? `${JSON.stringify(result.document, null, 2)}\n` : formatSets(result.document));
      exitCode = result.exitCode;
    });

  program
    .command('history')
    .description('job history: id, type, status, start, end, duration, bytes, copies, warnings and errors')
    .option('--status <status...>', 'only jobs with these statuses: completed, errors, failed, killed')
    .option('--since <date>', 'only jobs that ended at or after this date (ISO, UTC)')
    .option('--until <date>', 'only jobs that ended at or before this date (ISO, UTC)')
    .option('--local-only', 'read only the phase-1 destination (not the hot-site mirror jobs/)')
    .addHelpText('after', '\nExamples:\n  $ commserve-dr history\n  $ commserve-dr history --status failed errors --since 2026-11-01\n  $ commserve-dr history --local-only --json')
    .action(async (cmd: { status?: string[]; since?: string; until?: string; localOnly?: boolean }) => {
      const { opts, config } = settingsContext();
      const { collectHistory, formatHistory, parseDateFilter, parseStatusFilter } = require('./commands/history/history') as typeof import('./commands/history/history');
      const filter = {
        statuses: (cmd.status ?? []).map(parseStatusFilter),
        since: cmd.since ? parseDateFilter(cmd.since, '--since') : undefined,
        until: cmd.until ? parseDateFilter(cmd.until, '--until') : undefined,
      };
      const { settings } = await config();
      const document = await collectHistory(settings, cmd.localOnly ? null : hotSiteClient(settings.HotSite, { maxAttempts: 1 }), filter);
      io.stdout(opts.json ? `${JSON.stringify(document, null, 2)}\n` : formatHistory(document));
    });

  program
    .command('prune')
    .description('apply retention now (SPEC §5): expire SETs beyond RetainCycles at the hot-site, in archive/ and in the phase-1 destination')
    .option('--dry-run', 'print the plan with the reason for every SET kept or expired; delete nothing')
    .option('--allow-early-archive-deletion', 'delete archive objects younger than their storage class minimum (90/180 days) despite the early-deletion charge')
    .option('--local-only', 'prune the phase-1 destination only (do not touch the hot-site)')
    .option('-y, --yes', 'do not ask for confirmation on a terminal (without a terminal prune never asks)')
    .addHelpText('after', '\nExamples:\n  $ commserve-dr prune --dry-run\n  $ commserve-dr prune --yes\n  $ commserve-dr prune --json\n\nOn a terminal, prune (without --dry-run, --yes or --json) shows the plan and asks before deleting anything.')
    .action(async (cmd: { dryRun?: boolean; allowEarlyArchiveDeletion?: boolean; localOnly?: boolean; yes?: boolean }) => {
      const { opts, config } = settingsContext();
      const { settings } = await config();
      const { runPrune } = require('./commands/prune/prune') as typeof import('./commands/prune/prune');
      if (!cmd.dryRun && !cmd.yes && !opts.json && io.isTTY && io.prompt) {
        const plan = await runPrune({ settings, s3: cmd.localOnly ? null : hotSiteClient(settings.HotSite), dryRun: true, allowEarlyArchiveDeletion: cmd.allowEarlyArchiveDeletion });
        io.stdout(plan.table);
        const expiring = plan.document.plan.hotSite.expire.length + (plan.document.plan.archive?.expire.length ?? 0);
        if (expiring === 0) {
          io.stdout('Nothing to delete.\n');
          return;
        }
        const answer = await io.prompt(`Delete the ${expiring} SET cop${expiring === 1 ? 'y' : 'ies'} marked EXPIRE (and their phase-1 folders)? [y/N] `);
        if (!/^y(es)?$/i.test(answer.trim())) {
          io.stdout('Nothing deleted (not confirmed).\n');
          return;
        }
      }
      const { document, table } = await runPrune({
        settings,
        s3: cmd.localOnly ? null : hotSiteClient(settings.HotSite),
        dryRun: cmd.dryRun,
        allowEarlyArchiveDeletion: cmd.allowEarlyArchiveDeletion,
      });
      io.stdout(opts.json ? `${JSON.stringify(document, null, 2)}\n` : table);
      if ((document.applied?.failedCount ?? 0) > 0) exitCode = ExitCode.CompletedWithErrors;
    });

  const tierOption = () => new Option('--tier <tier>', 'retrieval tier for GLACIER/DEEP_ARCHIVE objects: Expedited, Standard or Bulk').argParser(parseRetrievalTier).default('Standard');

  program
    .command('recover')
    .description('hot-site recovery (SPEC §6): rebuild the CommServe database, registry (and firewall files) from the newest restorable point or a named SET')
    .requiredOption('--to <dir>', 'recovery directory: staging, the restored database (<dir>/commserv.db) and the recovery report')
    .option('--set <SET_n>', 'restore to this SET (a DIFFERENTIAL brings its FULL; SET_7 and SET_007 both work); default the newest restorable point', setArgument)
    .option('--at <time>', 'restore to this moment (ISO-8601 with a zone, e.g. 2026-12-05T14:30:00Z): FULL + DIFFERENTIAL + the LOG chain up to the newest LOG point at or before it; the report states the moment reached and the gap (not with --set)')
    .option('--firewall', 'also restore FwPeers.txt, FwHosts.txt, FwPorts.txt')
    .option('--force', 'override preflight refusals (platform components installed, CommServe services running), with warnings; move existing target files aside (<name>.before-recovery-<UTC timestamp>, never deleted)')
    .option('--dry-run', 'print the plan and the registry changes; change nothing')
    .option('--wait', 'wait for archive restores instead of exiting with code 3 while they are pending')
    .option('--from <dir>', 'read the SETs from this folder of SET_<n>/ folders only (a phase-1 destination, USB disk, mounted share): no cloud needed; default every copy (phase-1 destination, hot-site, archive), cheapest intact first')
    .option('--registry-hive <file>', 'import the registry into this file-backed hive (default: the Windows registry on Windows, <dir>/registry/commserv_hive.reg elsewhere)')
    .addOption(tierOption())
    .addOption(
      new Option(
        '--integrity-check <check>',
        'integrity check of the rebuilt SQLite database: auto re-runs none when the database is bit-identical (SHA-256) to the image on which the backup job\'s full PRAGMA integrity_check passed (recorded in its manifest; the report names the SHA-256 and the job), else runs the full check; quick always runs PRAGMA quick_check; full always runs PRAGMA integrity_check',
      )
        .choices(['auto', 'quick', 'full'])
        .default('auto'),
    )
    .addHelpText('after', '\nExamples:\n  $ commserve-dr recover --to /srv/commserve --dry-run\n  $ commserve-dr recover --to /srv/commserve --set SET_042 --firewall\n  $ commserve-dr recover --to D:\\CommServe --wait --tier Expedited\n  $ commserve-dr recover --to /srv/commserve --integrity-check full\n  $ commserve-dr recover --to /srv/commserve --from /mnt/usb/dr   (no cloud: a folder of SET_n/ folders)\n  $ commserve-dr recover --to /srv/commserve --at 2026-12-05T14:30:00Z --dry-run\n\nExit codes: 0 recovered (or planned, with --dry-run), 1 refused or failed, 2 unknown SET, 3 archive restores pending.')
    .action(async (cmd: { to: string; set?: string; at?: string; from?: string; firewall?: boolean; force?: boolean; dryRun?: boolean; wait?: boolean; tier: RetrievalTier; registryHive?: string; integrityCheck: 'auto' | 'quick' | 'full' }) => {
      const { opts, logger, config } = context();
      if (cmd.to.trim() === '') throw new UsageError('--to names no directory: give the recovery directory explicitly (it is never taken to be the current directory)');
      const { settings } = await config();
      const to = resolve(io.cwd, cmd.to);
      const { createRegistryStore } = require('./registry/index') as typeof import('./registry/index');
      const { runRecover } = require('./commands/recover/recover') as typeof import('./commands/recover/recover');
      const registryStore = cmd.registryHive
        ? createRegistryStore({ store: 'file-hive', hiveFile: resolve(io.cwd, cmd.registryHive), ansiCodePage: settings.AnsiCodePage })
        : process.platform === 'win32'
          ? createRegistryStore({ store: 'windows' })
          : undefined;
      const result = await runRecover({
        settings,
        s3: hotSiteClient(settings.HotSite),
        logger,
        setName: cmd.set,
        at: cmd.at,
        from: fromFolder(cmd.from, io.cwd),
        to,
        firewall: cmd.firewall,
        force: cmd.force,
        dryRun: cmd.dryRun,
        wait: cmd.wait,
        tier: cmd.tier,
        registryStore,
        integrityCheck: cmd.integrityCheck,
      });
      exitCode = printResult(opts, result);
    });

  program
    .command('fetch')
    .description('restore a SET to disk without applying it: download and verify every file into <dir>/SET_n/')
    .argument('<SET_n>', 'the SET to fetch (SET_7 and SET_007 both work)', setArgument)
    .requiredOption('--to <dir>', 'directory to write SET_n/ into')
    .option('--from <dir>', 'read the SETs from this folder of SET_<n>/ folders only (a phase-1 destination, USB disk, mounted share): no cloud needed; default every copy (phase-1 destination, hot-site, archive), cheapest intact first')
    .option('--wait', 'wait for archive restores instead of exiting with code 3 while they are pending')
    .addOption(tierOption())
    .addHelpText('after', '\nExample:\n  $ commserve-dr fetch SET_042 --to ./fetched')
    .action(async (set: string, cmd: { to: string; from?: string; wait?: boolean; tier: RetrievalTier }) => {
      const { opts, logger, config } = context();
      const { settings } = await config();
      const from = fromFolder(cmd.from, io.cwd);
      const { runFetch } = require('./commands/recover/fetch') as typeof import('./commands/recover/fetch');
      const result = await runFetch({ settings, s3: hotSiteClient(settings.HotSite), logger, setName: set, to: resolve(io.cwd, cmd.to), from, wait: cmd.wait, tier: cmd.tier });
      exitCode = printResult(opts, result);
    });

  program
    .command('verify')
    .description('check a restorable point at the hot-site (sizes and SHA-256), then trial-restore it into a scratch database with an integrity check; records the result')
    .argument('[SET_n]', 'the SET to verify (a DIFFERENTIAL with its FULL; SET_7 and SET_007 both work); default the newest restorable point', setArgument)
    .option('--from <dir>', 'read the SETs from this folder of SET_<n>/ folders only (a phase-1 destination, USB disk, mounted share): no cloud needed; default every copy (phase-1 destination, hot-site, archive), cheapest intact first')
    .option('--wait', 'wait for archive restores instead of exiting with code 3 while they are pending')
    .addOption(tierOption())
    .option('--repair', 'first check every object of the SET (without one: of every kept SET) against its manifest, at the hot-site (no budget) and in the phase-1 destination (SHA-256 of every file), and repair what is damaged or missing: the hot-site from the local or archive copy, the phase-1 destination from the hot-site or archive copy (checked, then renamed into place; intact files are never written)')
    .addHelpText('after', '\nExamples:\n  $ commserve-dr verify\n  $ commserve-dr verify SET_042 --json\n  $ commserve-dr verify --repair SET_042')
    .action(async (set: string | undefined, cmd: { from?: string; wait?: boolean; tier: RetrievalTier; repair?: boolean }) => {
      const { opts, logger, config } = context();
      const { settings } = await config();
      const from = fromFolder(cmd.from, io.cwd);
      if (cmd.repair && from !== undefined) throw new UsageError('--repair mends the hot-site and the phase-1 destination and cannot be combined with --from (a --from folder is only read)');
      const s3 = hotSiteClient(settings.HotSite);
      const { runVerify } = require('./commands/recover/verify') as typeof import('./commands/recover/verify');
      let unrepaired = 0;
      if (cmd.repair) {
        const { scrubHotSite } = require('./hotsite/scrub') as typeof import('./hotsite/scrub');
        const report = await scrubHotSite({
          s3,
          bucket: settings.HotSite.bucket,
          phase1Destination: existsSync(settings.Phase1Destination) ? settings.Phase1Destination : null,
          stateDirectory: settings.StateDirectory,
          budget: Number.MAX_SAFE_INTEGER,
          repairer: (require('./hotsite/repair-function') as typeof import('./hotsite/repair-function')).repairerFor(settings, s3),
          ...(set ? { only: [set] } : {}),
        });
        for (const e of report.events) io.stderr(`${e.level === 'info' ? '' : `${e.level}: `}${e.message}\n`);
        unrepaired = report.findings.filter((f) => !f.outcome.repaired).length;
        const { formatLocalRepair, repairLocalCopies } = require('./commands/recover/repair-local') as typeof import('./commands/recover/repair-local');
        const local = await repairLocalCopies({ s3, bucket: settings.HotSite.bucket, phase1Destination: settings.Phase1Destination, ...(set ? { only: [set] } : {}) });
        for (const line of formatLocalRepair(local)) io.stderr(`${line}\n`);
        unrepaired += local.findings.filter((f) => !f.outcome.repaired).length;
      }
      const result = await runVerify({ settings, s3, logger, setName: set, from, wait: cmd.wait, tier: cmd.tier });
      // Something damaged and not repaired: completed with errors, in the document too.
      if (unrepaired > 0 && result.exitCode === ExitCode.Success) result.exitCode = result.document.exitCode = ExitCode.CompletedWithErrors;
      exitCode = printResult(opts, result);
    });

  program
    .command('report')
    .description('recovery-readiness report: a self-contained HTML page (timeline of SETs by cycle, RPO, last verified trial restore, retention verdicts, alarms, job history)')
    .requiredOption('--html <file>', 'write the page here')
    .option('--history <n>', 'jobs shown in the history table (a whole number, at least 1)', wholeNumberOption, 20)
    .option('--local-only', 'read only the phase-1 destination (not the hot-site)')
    .addHelpText('after', '\nExamples:\n  $ commserve-dr report --html readiness.html\n  $ commserve-dr report --html readiness.html --json')
    .action(async (cmd: { html: string; history: number; localOnly?: boolean }) => {
      const { opts, config } = settingsContext();
      const { settings } = await config();
      const { buildReadinessReport, formatReportSummary } = require('./commands/report/report') as typeof import('./commands/report/report');
      const { assertHtmlTarget, writeHtmlReport } = require('./commands/report/html-file') as typeof import('./commands/report/html-file');
      const file = resolve(io.cwd, cmd.html);
      assertHtmlTarget(file); // before reading anything: a missing directory is a usage error naming it
      const { html, data } = await buildReadinessReport({
        settings,
        s3: cmd.localOnly ? null : hotSiteClient(settings.HotSite, { maxAttempts: 1 }),
        now: new Date(),
        historyLimit: cmd.history,
      });
      writeHtmlReport(file, html);
      io.stdout(opts.json ? `${JSON.stringify(data, null, 2)}\n` : `${formatReportSummary(data)}report written to ${file}\n`);
    });

  const registry = program
    .command('registry')
    .description('inspect registry exports (.reg files), such as the commserv_hive.reg of a SET');
  registry
    .command('parse')
    .description("print a .reg file's operations in file order (keys, value types and decoded data, deletions), its format and encoding, and the values to re-enter after recovery (DPAPI)")
    .argument('<file>', '.reg file: REGEDIT4 or REGEDIT5, UTF-16LE, UTF-8 or ANSI')
    .addHelpText('after', '\nExamples:\n  $ commserve-dr registry parse commserv_hive.reg\n  $ commserve-dr registry parse dr/SET_12/commserv_hive_12.reg --json\n\nThe table cuts long data; --json prints { format, encoding, operations } complete, plus warnings [{ line, column, message }] and warningCount when values were left out.\nValues regedit would not import are left out, each listed on stderr as a warning (<file>: line L, column C: <problem>), exit 3.\nA file that is not a .reg file exits with 1 and one line: <file>: line L, column C: <problem>.')
    .action(async (file: string) => {
      const json = program.opts<GlobalOptions>().json === true;
      const { formatParseWarnings, formatSecretsWarning, printRegistryExport } = require('./commands/registry/parse') as typeof import('./commands/registry/parse');
      const summary = await printRegistryExport(resolve(io.cwd, file), file, { json, write: io.stdout, ansiCodePage: await ansiCodePageSetting() });
      if (json) for (const line of formatSecretsWarning(summary.secrets)) io.stderr(`warning: ${line.trim()}\n`);
      for (const line of formatParseWarnings(summary)) io.stderr(`warning: ${line}\n`);
      // Completed with errors: what regedit would not import is left out (SPEC §11 exit 3).
      if (summary.warningCount > 0) exitCode = ExitCode.CompletedWithErrors;
    });

  program
    .command('doctor')
    .description('would a scheduled job succeed? one verdict per line (pass / fail / skip): settings, paths, credentials, bucket, permissions, KMS key, state machine, proxy, database and its rights, destination, disk space, registry, firewall files, SSM Agent')
    .addHelpText('after', '\nExamples:\n  $ commserve-dr doctor\n  $ commserve-dr --settings-parameter-path /commserve-dr/default doctor --json\n\nExit codes: 0 no check failed, 1 at least one failed.')
    .action(async () => {
      const { opts, config } = context();
      const { formatDoctor, runDoctor } = require('./commands/doctor/doctor') as typeof import('./commands/doctor/doctor');
      const report = await runDoctor({ loadSettings: config });
      io.stdout(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctor(report));
      exitCode = report.exitCode;
    });

  program
    .command('config')
    .description('the effective settings and where each came from (default, file, environment, SSM)')
    .addHelpText('after', '\nExamples:\n  $ commserve-dr config\n  $ COMMSERVE_DR_RetainCycles=7 commserve-dr config --json\n  $ commserve-dr --config site.json config')
    .action(async () => {
      const { opts, config } = settingsContext();
      const loaded = await config();
      if (opts.json) {
        io.stdout(`${JSON.stringify({ file: loaded.source, fileFoundBy: loaded.sourceKind, ssmPath: loaded.ssmPath, settings: loaded.settings, sources: loaded.sources, relativePaths: loaded.relativePaths }, null, 2)}\n`);
        return;
      }
      const lines = [`settings file: ${loaded.source ? `${loaded.source} (${CONFIG_FILE_FOUND_BY[loaded.sourceKind!]})` : 'none (embedded defaults)'}${loaded.ssmPath ? ` · SSM path: ${loaded.ssmPath}` : ''}`, ''];
      const width = Math.max(...Object.keys(loaded.settings).map((n) => n.length));
      for (const [name, value] of Object.entries(loaded.settings)) {
        lines.push(`  ${name.padEnd(width)}  ${(loaded.sources[name] ?? 'default').padEnd(12)} ${JSON.stringify(value)}`);
      }
      io.stdout(`${lines.join('\n')}\n`);
    });

  // --json before the command is parsed: usage errors print their JSON document too.
  const wantsJson = args.includes('--json');
  const commandNames = new Set(program.commands.map((c) => c.name()));
  const commandName = args.find((a) => commandNames.has(a));
  const setArg = commandName === 'fetch' ? (args.slice(args.indexOf('fetch') + 1).find((a) => /^set/i.test(a)) ?? null) : null;
  const jsonError = (code: string, message: string, exit: number) => commandErrorDocument(commandName, code, message, exit, toArgument(args, io.cwd), setArg);
  if (args.includes('--version') && !args.some((a) => commandNames.has(a))) {
    io.stdout(wantsJson ? `${JSON.stringify({ name: 'commserve-dr', version: AGENT_VERSION }, null, 2)}\n` : `commserve-dr ${AGENT_VERSION}\n`);
    return ExitCode.Success;
  }
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help is not an error; commander has already printed its message on stderr.
      if (error.exitCode === 0) return ExitCode.Success;
      if (wantsJson) io.stdout(jsonError('USAGE', error.message.replace(/^error: /, ''), ExitCode.Usage));
      return ExitCode.Usage;
    }
    const opts = program.opts<GlobalOptions>();
    io.stderr(`commserve-dr: ${describeError(error)}\n`);
    const code = error instanceof UsageError || error instanceof CommserveDrError ? error.exitCode : ExitCode.Failure;
    if (opts.json || wantsJson) io.stdout(jsonError(error instanceof CommserveDrError ? error.code : 'ERROR', describeError(error), code));
    if (opts.verbose && error instanceof Error && !(error instanceof CommserveDrError)) io.stderr(`${error.stack}\n`);
    if (error instanceof UsageError || error instanceof CommserveDrError) return error.exitCode;
    return ExitCode.Failure;
  }
  return exitCode;
}
