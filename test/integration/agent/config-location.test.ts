/**
 * The scheduled command finds its settings wherever SSM runs it (issue 22 item 2): the machine-wide config file,
 * `--settings-parameter-path`, an absolute state directory, and relative paths refused for a scheduled job with the
 * setting named — reported through the task token so the execution fails at once.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ConfigError } from '#core/errors';
import { loadConfig, loadEffectiveConfig } from '#agent/config';
import { machineConfigFile, machineStateDirectory, requireProductionPaths } from '#agent/config-location';
import { exec } from '#agent/cli';
import { capture } from '../../support/cli';
import { motoEndpoint, useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';

describe('config location (issue 22 item 2)', () => {
  useMoto();
  const tempDir = useTempDirs();

  it('names the machine-wide config file and state directory per platform', () => {
    expect(machineConfigFile('win32', { ProgramData: 'C:\\ProgramData' })).toBe('C:\\ProgramData\\commserve-dr\\commserve-dr.config.json');
    expect(machineConfigFile('win32', {})).toBe('C:\\ProgramData\\commserve-dr\\commserve-dr.config.json');
    expect(machineConfigFile('win32', { ProgramData: 'D:\\Data' })).toBe('D:\\Data\\commserve-dr\\commserve-dr.config.json');
    expect(machineConfigFile('linux', {})).toBe('/etc/commserve-dr/commserve-dr.config.json');
    expect(machineStateDirectory('win32', { ProgramData: 'C:\\ProgramData' })).toBe('C:\\ProgramData\\commserve-dr\\state');
    expect(machineStateDirectory('linux', {})).toBe('/var/lib/commserve-dr/state');
  });

  it('finds the machine-wide file from an SSM per-command folder; a file in the working directory wins over it', () => {
    const machine = tempDir();
    const machineFile = join(machine, 'commserve-dr.config.json');
    writeFileSync(machineFile, JSON.stringify({ RetainCycles: 4, Phase1Destination: join(machine, 'dr') }));
    const perCommand = join(machine, 'ssm', 'command-1');
    mkdirSync(perCommand, { recursive: true });
    const found = loadConfig(undefined, perCommand, {}, { machineConfigFile: machineFile });
    expect({ source: found.source, kind: found.sourceKind, retain: found.settings.RetainCycles, dest: found.settings.Phase1Destination }).toEqual({
      source: machineFile,
      kind: 'machine',
      retain: 4,
      dest: join(machine, 'dr'),
    });
    writeFileSync(join(perCommand, 'commserve-dr.config.json'), JSON.stringify({ RetainCycles: 6 }));
    const local = loadConfig(undefined, perCommand, {}, { machineConfigFile: machineFile });
    expect({ kind: local.sourceKind, retain: local.settings.RetainCycles }).toEqual({ kind: 'working-directory', retain: 6 });
    const none = loadConfig(undefined, tempDir(), {}, { machineConfigFile: join(machine, 'missing.json') });
    expect({ source: none.source, kind: none.sourceKind }).toEqual({ source: null, kind: null });
  });

  it('--settings-parameter-path wins over SettingsParameterPath of the file and the environment', async () => {
    const ssm = new SSMClient({ endpoint: motoEndpoint(), region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await ssm.send(new PutParameterCommand({ Name: '/commserve-dr/sent/RetainCycles', Value: '11', Type: 'String' }));
    await ssm.send(new PutParameterCommand({ Name: '/commserve-dr/file/RetainCycles', Value: '2', Type: 'String' }));
    const cwd = tempDir();
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ SettingsParameterPath: '/commserve-dr/file' }));
    const loaded = await loadEffectiveConfig(undefined, cwd, { COMMSERVE_DR_SettingsParameterPath: '/commserve-dr/env' }, ssm, {
      machineConfigFile: null,
      settingsParameterPath: '/commserve-dr/sent',
    });
    expect({ path: loaded.ssmPath, retain: loaded.settings.RetainCycles, source: loaded.sources.RetainCycles }).toEqual({ path: '/commserve-dr/sent/', retain: 11, source: 'ssm' });
  });

  describe('relative paths in a production run', () => {
    it('are refused, each named with its value and source (file, SSM parameter, or unset default)', () => {
      const cwd = tempDir();
      const file = join(cwd, 'site.json');
      writeFileSync(file, JSON.stringify({ Phase1Destination: 'dr-backups', Database: { engine: 'sqlite', path: join(cwd, 'commserv.db') } }));
      const loaded = loadConfig(file, cwd, { COMMSERVE_DR_FirewallDirectory: 'fw' }, { machineConfigFile: null });
      let error: unknown;
      try {
        requireProductionPaths(loaded, 'scheduled job (--task-token)', 'linux', {});
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain(`relative paths are refused for a scheduled job (--task-token) (they would resolve against the working directory ${cwd}`);
      expect(message).toContain(`Phase1Destination: "dr-backups" from ${file}`);
      expect(message).toContain('FirewallDirectory: "fw" from environment variable COMMSERVE_DR_FirewallDirectory');
      expect(message).not.toContain('Database.path');
      expect(message).not.toContain('StateDirectory'); // unset: becomes the machine-wide one, not refused
      if (process.platform !== 'win32') expect(message).toContain('Registry.hiveFile: not set (the default ".commserve-dr/sample/registry/commserv_hive.reg" is the local sample\'s)');
    });

    it('pass when every path is absolute; an unset StateDirectory becomes the machine-wide one', () => {
      const cwd = tempDir();
      const loaded = loadConfig(
        undefined,
        cwd,
        {
          COMMSERVE_DR_Phase1Destination: join(cwd, 'dr'),
          COMMSERVE_DR_FirewallDirectory: join(cwd, 'fw'),
          COMMSERVE_DR_Database: JSON.stringify({ engine: 'sqlite', path: join(cwd, 'db.sqlite') }),
          COMMSERVE_DR_Registry: JSON.stringify({ store: 'windows' }),
        },
        { machineConfigFile: null },
      );
      const production = requireProductionPaths(loaded, 'job against AWS', 'win32', { ProgramData: 'C:\\ProgramData' });
      expect(production.settings.StateDirectory).toBe('C:\\ProgramData\\commserve-dr\\state');
      expect(production.settings.Phase1Destination).toBe(join(cwd, 'dr'));
    });
  });

  describe('backup --task-token from an SSM per-command folder with a relative Phase1Destination', () => {
    let server: Server;
    const requests: Array<{ target: string; body: Record<string, unknown> }> = [];
    beforeAll(async () => {
      // Stands in for Step Functions: records the callback (moto does not know the token).
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          requests.push({ target: String(req.headers['x-amz-target']), body: body ? (JSON.parse(body) as Record<string, unknown>) : {} });
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{}');
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('refuses before any work, naming the setting, and reports it through SendTaskFailure (no heartbeat timeout)', async () => {
      const machine = tempDir();
      const config = join(machine, 'commserve-dr.config.json');
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      writeFileSync(
        config,
        JSON.stringify({
          Phase1Destination: 'DR',
          FirewallDirectory: join(machine, 'fw'),
          Database: { engine: 'sqlite', path: join(machine, 'commserv.db') },
          Registry: { store: 'file-hive', hiveFile: join(machine, 'hive.reg') },
          StateDirectory: join(machine, 'state'),
          HotSite: { bucket: 'commserve-dr-hot-site', region: 'us-east-1', endpoint },
        }),
      );
      const perCommand = join(machine, 'ssm-command');
      mkdirSync(perCommand);
      const io = capture(perCommand);
      const code = await exec(['--config', config, 'backup', '--type', 'full', '--task-token', 'token-7'], io);
      expect(code).toBe(2);
      expect(io.err()).toContain(`Phase1Destination: "DR" from ${config}`);
      expect(requests).toEqual([
        {
          target: 'AWSStepFunctions.SendTaskFailure',
          body: { taskToken: 'token-7', error: 'CONFIG_INVALID', cause: expect.stringContaining('Phase1Destination: "DR"') },
        },
      ]);
    });
  });
});
