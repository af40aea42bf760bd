/**
 * Both deploy orders of docs/DEPLOY.md, synthesized (issue 22 item 4), and the command RunPhase1 sends
 * (issue 22 item 2): the settings path always, the config file and the executable when the deployment names them.
 */
import { resolveDefinitionFromTemplate } from '#infra/definition';
import { phase1CommandTemplate, powerShellQuote } from '#infra/phase1-command';
import { synth, type TemplateJson } from './support/synth';

/** Evaluates the template's conditions and a schedule's `State` for given parameter values (what CloudFormation does). */
function evaluate(json: TemplateJson, value: unknown, parameters: Record<string, string>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const [key, arg] = Object.entries(value as Record<string, unknown>)[0];
  switch (key) {
    case 'Ref':
      return parameters[arg as string] ?? json.Parameters?.[arg as string]?.Default;
    case 'Fn::Equals': {
      const [a, b] = arg as unknown[];
      return evaluate(json, a, parameters) === evaluate(json, b, parameters);
    }
    case 'Fn::Not':
      return !evaluate(json, (arg as unknown[])[0], parameters);
    case 'Fn::If': {
      const [condition, then, otherwise] = arg as [string, unknown, unknown];
      const holds = evaluate(json, (json as any).Conditions[condition], parameters);
      return evaluate(json, holds ? then : otherwise, parameters);
    }
    default:
      throw new Error(`cannot evaluate ${key}`);
  }
}

const schedulesOf = (json: TemplateJson) => Object.values(json.Resources).filter((r: any) => r.Type === 'AWS::Scheduler::Schedule') as any[];

describe('deploy orders (docs/DEPLOY.md section 2)', () => {
  describe('deploy first: no commServeInstanceId in context', () => {
    let t: ReturnType<typeof synth>;
    beforeAll(() => {
      t = synth({ context: { differentialSchedules: '["rate(6 hours)"]' } });
    });

    it('declares CommServeInstanceId with an empty default (deployable before the CommServe is registered)', () => {
      expect(t.json.Parameters!.CommServeInstanceId).toMatchObject({ Type: 'String', Default: '', AllowedPattern: '^((mi|i)-[0-9a-f]{8,17})?$' });
      expect(new RegExp(t.json.Parameters!.CommServeInstanceId.AllowedPattern).test('')).toBe(true);
      expect(new RegExp(t.json.Parameters!.CommServeInstanceId.AllowedPattern).test('mi-0123456789abcdef0')).toBe(true);
      expect(new RegExp(t.json.Parameters!.CommServeInstanceId.AllowedPattern).test('server01')).toBe(false);
    });

    it('holds every schedule (FULL, DIFFERENTIAL and LOG) disabled while the parameter is empty, enabled once it is set', () => {
      const schedules = schedulesOf(t.json);
      expect(schedules.map((s) => JSON.parse(s.Properties.Target.Input).backupType)).toEqual(['FULL', 'DIFFERENTIAL', 'LOG']);
      for (const schedule of schedules) {
        expect(evaluate(t.json, schedule.Properties.State, {})).toBe('DISABLED');
        expect(evaluate(t.json, schedule.Properties.State, { CommServeInstanceId: 'mi-0123456789abcdef0' })).toBe('ENABLED');
      }
    });

    it('says so in the output SchedulesEnabled', () => {
      const output = t.json.Outputs!.SchedulesEnabled.Value;
      expect(evaluate(t.json, output, {})).toBe('false (CommServeInstanceId not set)');
      expect(evaluate(t.json, output, { CommServeInstanceId: 'i-0123456789abcdef0' })).toBe('true');
    });

    it('outputs the agent role for the activation (the step between the two deploys)', () => {
      expect(t.json.Outputs!.AgentRoleName).toBeDefined();
    });

    it('keeps schedules created disabled (scheduleEnabled=false) disabled even once the id is set', () => {
      const held = synth({ context: { scheduleEnabled: 'false' } });
      for (const schedule of schedulesOf(held.json)) expect(evaluate(held.json, schedule.Properties.State, { CommServeInstanceId: 'mi-0123456789abcdef0' })).toBe('DISABLED');
    });
  });

  describe('register first: commServeInstanceId in context', () => {
    let t: ReturnType<typeof synth>;
    beforeAll(() => {
      t = synth({ context: { commServeInstanceId: 'mi-0123456789abcdef0' } });
    });

    it('has no parameter, no condition and enabled schedules', () => {
      expect(t.json.Parameters?.CommServeInstanceId).toBeUndefined();
      expect((t.json as any).Conditions?.CommServeRegistered).toBeUndefined();
      // The FULL and the LOG schedule (LogBackupIntervalMinutes, issue 17).
      expect(schedulesOf(t.json).map((s) => s.Properties.State)).toEqual(['ENABLED', 'ENABLED']);
      expect(t.json.Outputs!.SchedulesEnabled).toBeUndefined();
    });

    it('sends the command to that node only', () => {
      const states = resolveDefinitionFromTemplate(t.json).definition.States as Record<string, any>;
      expect(states.RunPhase1.Parameters.InstanceIds).toEqual(['mi-0123456789abcdef0']);
    });
  });
});

describe('the command RunPhase1 sends (issue 22 item 2)', () => {
  const commandOf = (json: TemplateJson) => (resolveDefinitionFromTemplate(json).definition.States as Record<string, any>).RunPhase1.Parameters.Parameters['commands.$'];

  it('names the settings path of the cell, so the agent reads SSM wherever SSM runs it', () => {
    const t = synth({ context: { cell: 'paris', commServeInstanceId: 'mi-0123456789abcdef0' } });
    expect(commandOf(t.json)).toBe("States.Array(States.Format('commserve-dr --settings-parameter-path /commserve-dr/paris backup --type {} --task-token {}', $.backupType, $$.Task.Token))");
  });

  it('adds --config and the absolute launcher when the deployment names them (PowerShell-quoted)', () => {
    const t = synth({
      context: { commServeInstanceId: 'mi-0123456789abcdef0', agentConfigFile: 'D:\\commserve-dr\\site config.json', agentCommand: 'C:\\Program Files\\nodejs\\commserve-dr.cmd' },
    });
    // In the definition the States.Format literal escapes backslashes and quotes.
    expect(commandOf(t.json)).toBe(
      "States.Array(States.Format('& \\'C:\\\\Program Files\\\\nodejs\\\\commserve-dr.cmd\\' --config \\'D:\\\\commserve-dr\\\\site config.json\\' --settings-parameter-path /commserve-dr/default backup --type {} --task-token {}', $.backupType, $$.Task.Token))",
    );
  });

  it('builds the template from its parts; a single quote in a path is doubled for PowerShell', () => {
    expect(phase1CommandTemplate({ settingsParameterPath: '/commserve-dr/default', configFile: "C:\\O'Brien\\cfg.json" })).toBe(
      "commserve-dr --config 'C:\\O''Brien\\cfg.json' --settings-parameter-path /commserve-dr/default backup --type {} --task-token {}",
    );
    expect(powerShellQuote("it's")).toBe("'it''s'");
  });

  it.each([
    [{ agentConfigFile: 'commserve-dr.config.json' }, /agentConfigFile must be an absolute path on the CommServe/],
    [{ agentConfigFile: 'C:\\cfg{1}.json' }, /agentConfigFile must not contain line breaks, '\{' or '\}'/],
    [{ agentCommand: 'bin\\commserve-dr.cmd' }, /agentCommand must be an absolute path/],
  ])('refuses %j at synthesis, naming the key', (context, message) => {
    expect(() => synth({ context: { commServeInstanceId: 'mi-0123456789abcdef0', ...context } })).toThrow(message);
  });
});
