import type * as LocalStepFunctions from 'aws-local-stepfunctions' with { 'resolution-mode': 'import' };
import { DR_JOB_STATE_NAMES } from '#infra/dr-job-state-machine';
import { DefinitionResolutionError, resolveDefinitionFromTemplate, synthesizeDrJobDefinition, type CfnTemplate } from '#infra/definition';

// The package is ESM-typed ("type": "module") but ships a CommonJS build, which jest loads.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { StateMachine } = require('aws-local-stepfunctions') as typeof LocalStepFunctions;

type Handler = (input: any) => Promise<any>;

describe('synthesizeDrJobDefinition', () => {
  let definition: Record<string, any>;
  let stateNames: string[];

  beforeAll(() => {
    ({ definition, stateNames } = synthesizeDrJobDefinition());
  });

  it('lists the states, with the names the local runner overrides', () => {
    expect([...stateNames].sort()).toEqual(
      ['ArchiveSet', 'HasPhase1Result', 'IsJobFailed', 'IsLogPoint', 'JobFailed', 'JobSucceeded', 'LogSkipped', 'PruneSets', 'RejectInput', 'ReportJob', 'RunPhase1', 'ValidateSet'],
    );
    expect([...stateNames].sort()).toEqual([...DR_JOB_STATE_NAMES].sort());
    expect(definition.StartAt).toBe('HasPhase1Result');
  });

  it('resolves every token to plain values with stable fake ARNs', () => {
    const text = JSON.stringify(definition);
    expect(text).not.toMatch(/Fn::|"Ref"|\$\{Token/);
    expect(definition.States.RunPhase1.Resource).toBe('arn:aws:states:::aws-sdk:ssm:sendCommand.waitForTaskToken');
    for (const state of ['ValidateSet', 'ArchiveSet', 'PruneSets', 'ReportJob']) {
      expect(definition.States[state].Resource).toMatch(new RegExp(`^arn:aws:lambda:us-east-1:123456789012:function:Phase2${state}[0-9A-F]{8}$`));
    }
    expect(synthesizeDrJobDefinition().definition).toEqual(definition);
  });


  describe('executed by aws-local-stepfunctions', () => {
    /** Runs the definition with every Task overridden; returns the result or the failure, and each task's inputs. */
    async function run(input: unknown, handlers: Partial<Record<'RunPhase1' | 'ValidateSet' | 'ArchiveSet' | 'PruneSets' | 'ReportJob', Handler>>) {
      const inputs: Record<string, unknown[]> = {};
      const wrap = (name: string, handler: Handler | undefined): Handler => async (i) => {
        (inputs[name] ??= []).push(i);
        if (!handler) throw new Error(`${name} should not run`);
        return handler(i);
      };
      const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false, checkPaths: true } });
      const execution = machine.run(input as never, {
        overrides: {
          taskResourceLocalHandlers: {
            RunPhase1: wrap('RunPhase1', handlers.RunPhase1),
            ValidateSet: wrap('ValidateSet', handlers.ValidateSet),
            ArchiveSet: wrap('ArchiveSet', handlers.ArchiveSet),
            PruneSets: wrap('PruneSets', handlers.PruneSets),
            ReportJob: wrap('ReportJob', handlers.ReportJob),
          },
          retryIntervalOverrides: { ArchiveSet: 0 },
        },
        context: { Task: { Token: 'token-123' } } as never,
      });
      try {
        return { output: (await execution.result) as any, inputs };
      } catch (error) {
        return { error: error as Error, inputs };
      }
    }

    const phase1 = { jobId: 7, setName: 'SET_0000007' };
    const validation = { files: 3, bytes: 10, checkedBy: { s3Checksum: 3, streamedHash: 0 } };
    const archive = { storageClass: 'GLACIER', prefix: 'archive/SET_0000007/', objects: 4, bytes: 11, multipartCopies: 0 };
    const prune = { outcome: 'pruned', jobId: 7, planKey: 'prune/007.json', hotSite: { sets: 3, kept: 2, expired: 1, setsDeleted: 1, objectsDeleted: 5, foreignKeys: 0 } };
    const completed: Handler = async () => ({ status: 'Completed' });
    const failing = (name: string): Handler => async () => {
      throw Object.assign(new Error(`${name} broke`), { name });
    };

    it('scheduled job: RunPhase1 sends the agent command with the backup type and task token, then phase 2 runs', async () => {
      const { output, inputs } = await run(
        { backupType: 'DIFFERENTIAL' },
        { RunPhase1: async () => phase1, ValidateSet: async () => validation, ArchiveSet: async () => archive, PruneSets: async () => prune, ReportJob: completed },
      );
      expect(inputs.RunPhase1).toEqual([
        {
          DocumentName: 'AWS-RunPowerShellScript',
          InstanceIds: ['mi-0123456789abcdef0'],
          Comment: 'commserve-dr DR backup job, phase 1',
          Parameters: { commands: ['commserve-dr --settings-parameter-path /commserve-dr/default backup --type DIFFERENTIAL --task-token token-123'], executionTimeout: ['21600'] },
        },
      ]);
      expect(inputs.ValidateSet).toEqual([{ backupType: 'DIFFERENTIAL', phase1 }]);
      expect(inputs.ArchiveSet).toEqual([{ backupType: 'DIFFERENTIAL', phase1, validation }]);
      expect(inputs.PruneSets).toEqual([{ backupType: 'DIFFERENTIAL', phase1, validation, archive }]);
      expect(inputs.ReportJob).toEqual([{ backupType: 'DIFFERENTIAL', phase1, validation, archive, prune }]);
      expect(output).toEqual({ backupType: 'DIFFERENTIAL', phase1, validation, archive, prune, report: { status: 'Completed' } });
    });

    it('scheduled LOG point: RunPhase1 with --type LOG, ValidateSet, then straight to ReportJob (archived and pruned with its cycle)', async () => {
      const logPhase1 = { ...phase1, backupType: 'LOG' };
      const { output, inputs } = await run({ backupType: 'LOG' }, { RunPhase1: async () => logPhase1, ValidateSet: async () => validation, ReportJob: completed });
      expect((inputs.RunPhase1 as Array<{ Parameters: { commands: string[] } }>)[0].Parameters.commands).toEqual(['commserve-dr --settings-parameter-path /commserve-dr/default backup --type LOG --task-token token-123']);
      expect(inputs.ArchiveSet).toBeUndefined();
      expect(inputs.PruneSets).toBeUndefined();
      expect(inputs.ReportJob).toEqual([{ backupType: 'LOG', phase1: logPhase1, validation }]);
      expect(output.report).toEqual({ status: 'Completed' });
    });

    it('job started by hand (phase1 present): starts at ValidateSet', async () => {
      const { output, inputs } = await run(
        { backupType: 'FULL', phase1 },
        { ValidateSet: async () => validation, ArchiveSet: async () => archive, PruneSets: async () => prune, ReportJob: completed },
      );
      expect(inputs.RunPhase1).toBeUndefined();
      expect(output.report).toEqual({ status: 'Completed' });
    });

    it('phase 1 failure: caught into $.error, reported, execution fails with DrJobFailed', async () => {
      const { error, inputs } = await run({ backupType: 'FULL' }, { RunPhase1: failing('States.HeartbeatTimeout'), ReportJob: async () => ({ status: 'Failed' }) });
      expect(inputs.ValidateSet).toBeUndefined();
      expect(inputs.ReportJob).toEqual([{ backupType: 'FULL', error: { Error: 'States.HeartbeatTimeout', Cause: expect.stringContaining('States.HeartbeatTimeout broke') } }]);
      expect(error?.name).toBe('ExecutionError');
      expect((error?.cause as Error).name).toBe('DrJobFailed');
    });

    it.each([{}, { backupType: 'full' }])('input %j without a valid backupType: reported as Failed, no SSM command', async (input) => {
      const { error, inputs } = await run(input, { ReportJob: async () => ({ status: 'Failed' }) });
      expect(inputs.RunPhase1).toBeUndefined();
      expect(inputs.ReportJob).toEqual([{ ...input, error: { Error: 'InvalidJobInput', Cause: expect.stringContaining('backupType') } }]);
      expect((error?.cause as Error).name).toBe('DrJobFailed');
    });

    it('prune failure: caught into $.pruneError, reported; the job still succeeds', async () => {
      const { output, inputs } = await run(
        { backupType: 'FULL', phase1 },
        { ValidateSet: async () => validation, ArchiveSet: async () => archive, PruneSets: failing('PruneError'), ReportJob: completed },
      );
      expect(inputs.PruneSets).toHaveLength(1); // no Retry on States.ALL: the next job prunes again
      expect(inputs.ReportJob).toEqual([
        { backupType: 'FULL', phase1, validation, archive, pruneError: { Error: 'PruneError', Cause: expect.stringContaining('PruneError broke') } },
      ]);
      expect(output.report).toEqual({ status: 'Completed' });
    });

    it('validation failure: caught into $.error, ArchiveSet skipped', async () => {
      const { error, inputs } = await run({ backupType: 'FULL', phase1 }, { ValidateSet: failing('SetValidationError'), ReportJob: async () => ({ status: 'Failed' }) });
      expect(inputs.ArchiveSet).toBeUndefined();
      expect(inputs.ReportJob).toEqual([{ backupType: 'FULL', phase1, error: { Error: 'SetValidationError', Cause: expect.stringContaining('SetValidationError broke') } }]);
      expect((error?.cause as Error).name).toBe('DrJobFailed');
    });

    it('archive failure: retried 10 times, then caught into $.archiveError; the job still succeeds (with errors)', async () => {
      const { output, inputs } = await run(
        { backupType: 'FULL', phase1 },
        { ValidateSet: async () => validation, ArchiveSet: failing('ArchiveCopyError'), ReportJob: async () => ({ status: 'Completed With One or More Errors' }) },
      );
      expect(inputs.ArchiveSet).toHaveLength(11);
      expect(inputs.PruneSets).toBeUndefined(); // no retention after a job whose archive copy failed
      expect(inputs.ReportJob).toEqual([
        { backupType: 'FULL', phase1, validation, archiveError: { Error: 'ArchiveCopyError', Cause: expect.stringContaining('ArchiveCopyError broke') } },
      ]);
      expect(output.report.status).toBe('Completed With One or More Errors');
    });
  });
});

describe('resolveDefinitionFromTemplate', () => {
  const machine = (properties: Record<string, unknown>) => ({ Type: 'AWS::StepFunctions::StateMachine', Properties: properties });

  it('applies DefinitionSubstitutions and resolves Ref, GetAtt and pseudo parameters', () => {
    const template: CfnTemplate = {
      Resources: {
        Fn1: { Type: 'AWS::Lambda::Function' },
        Bucket1: { Type: 'AWS::S3::Bucket' },
        Machine: machine({
          DefinitionString: {
            'Fn::Join': ['', ['{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"${fn}","Parameters":{"Bucket":"', { Ref: 'Bucket1' }, '","P":"', { Ref: 'AWS::Partition' }, '"},"End":true}}}']],
          },
          DefinitionSubstitutions: { fn: { 'Fn::GetAtt': ['Fn1', 'Arn'] } },
        }),
      },
    };
    expect(resolveDefinitionFromTemplate(template)).toEqual({
      definition: {
        StartAt: 'A',
        States: { A: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:Fn1', Parameters: { Bucket: 'bucket1', P: 'aws' }, End: true } },
      },
      stateNames: ['A'],
    });
  });

  it('refuses a template without exactly one state machine', () => {
    expect(() => resolveDefinitionFromTemplate({ Resources: {} })).toThrow(new DefinitionResolutionError('expected one AWS::StepFunctions::StateMachine in the template, found 0'));
  });

  it('names an intrinsic function it cannot resolve', () => {
    const template: CfnTemplate = { Resources: { M: machine({ DefinitionString: { 'Fn::ImportValue': 'x' } }) } };
    expect(() => resolveDefinitionFromTemplate(template)).toThrow(/cannot resolve Fn::ImportValue/);
  });
});
