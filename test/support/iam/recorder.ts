/**
 * Records every AWS SDK v3 command the code under test sends, in-process, whichever client sent it:
 * `Client.prototype.send` (shared by every `@aws-sdk/client-*` client through `@smithy/core`) is wrapped
 * for the life of the recorder. Each record carries the principal the test says is acting (`as()`), the
 * client's region, the command's name and its input. Commands of the services moto cannot answer
 * meaningfully (Step Functions task callbacks) can be answered by the recorder itself (`stub`).
 */
import { S3Client } from '@aws-sdk/client-s3';

/** One command as sent. */
export interface RecordedCommand {
  /** Who sent it (the principal the test named with `as`). */
  principal: string;
  /** The scenario step (e.g. `scheduled job: phase 1`). */
  step: string;
  /** `S3`, `SSM`, `SFN`, `CloudWatch` … (the client's service id). */
  service: string;
  /** Command class name without `Command`, e.g. `ListMultipartUploads`. */
  command: string;
  input: Record<string, unknown>;
  region: string;
}

type SendFn = (command: { input: unknown; constructor: { name: string } }, ...rest: unknown[]) => Promise<unknown>;

/** The shared base class of the SDK clients. */
const clientPrototype = Object.getPrototypeOf(S3Client.prototype) as { send: SendFn };

/** Records commands; call `stop()` (or use `useCommandRecorder`) to restore the SDK. */
export class CommandRecorder {
  readonly commands: RecordedCommand[] = [];
  private principal = 'unattributed';
  private step = '';
  private readonly original: SendFn;
  private readonly stubs = new Map<string, (input: Record<string, unknown>) => unknown>();
  private readonly bound = new WeakMap<object, string>();

  constructor() {
    this.original = clientPrototype.send;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const recorder = this;
    clientPrototype.send = async function (this: { config: { serviceId?: string; region?: unknown } }, command, ...rest) {
      const service = String(this.config.serviceId ?? 'unknown');
      const name = command.constructor.name.replace(/Command$/, '');
      const regionValue = this.config.region;
      const region = typeof regionValue === 'function' ? await (regionValue as () => Promise<string>)() : String(regionValue);
      recorder.commands.push({ principal: recorder.bound.get(this) ?? recorder.principal, step: recorder.step, service, command: name, input: { ...(command.input as object) }, region });
      const stub = recorder.stubs.get(`${service}:${name}`);
      if (stub) return stub(command.input as Record<string, unknown>);
      return recorder.original.call(this, command, ...rest);
    };
  }

  /** Attributes the commands sent from now on to `principal`, in scenario step `step`. */
  as(principal: string, step: string): void {
    this.principal = principal;
    this.step = step;
  }

  /** Attributes every command sent through `client` to `principal`, whatever the current principal. */
  bind<C extends object>(client: C, principal: string): C {
    this.bound.set(client, principal);
    return client;
  }

  /** Answers `service:command` (e.g. `SFN:SendTaskSuccess`) itself instead of sending it; it is still recorded. */
  stub(key: string, answer: (input: Record<string, unknown>) => unknown): void {
    this.stubs.set(key, answer);
  }

  /** Restores the SDK's own `send`. */
  stop(): void {
    clientPrototype.send = this.original;
  }
}
