import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { resolveDefinitionFromTemplate, synthesizeDrJobDefinition, type CfnTemplate } from '#infra/definition';

const ROOT = path.join(__dirname, '..', '..');
const CACHE = path.join(ROOT, '.cache');

describe('cdk synth (the CLI, offline)', () => {
  let outdir: string;
  let stderr: string;

  beforeAll(async () => {
    fs.mkdirSync(CACHE, { recursive: true });
    outdir = fs.mkdtempSync(path.join(CACHE, 'cdk-synth-'));
    const result = await promisify(execFile)(path.join(ROOT, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet', '--no-notices', '-o', outdir], {
      cwd: ROOT,
      env: { ...process.env, CDK_HOME: path.join(CACHE, 'cdk'), CDK_DISABLE_CLI_TELEMETRY: 'true' },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 120_000,
    });
    stderr = result.stderr;
  }, 150_000);

  afterAll(() => {
    if (outdir) fs.rmSync(outdir, { recursive: true, force: true });
  });

  it('bundles the five functions (four phase-2, RepairObject) with esbuild (no Docker)', () => {
    const assets = JSON.parse(fs.readFileSync(path.join(outdir, 'CommserveDrStack.assets.json'), 'utf8')) as { files: Record<string, { source: { path: string } }> };
    const bundles = Object.values(assets.files)
      .map((f) => f.source.path)
      .filter((p) => p.startsWith('asset.'));
    expect(bundles).toHaveLength(5);
    for (const bundle of bundles) {
      expect(fs.existsSync(path.join(outdir, bundle, 'index.js'))).toBe(true);
      expect(fs.existsSync(path.join(outdir, bundle, 'index.js.map'))).toBe(true);
    }
    expect(stderr).not.toMatch(/docker/i);
  });

  it('yields the same state-machine definition as the in-process synthesis the local runner uses', () => {
    const template = JSON.parse(fs.readFileSync(path.join(outdir, 'CommserveDrStack.template.json'), 'utf8')) as CfnTemplate;
    expect(resolveDefinitionFromTemplate(template).definition).toEqual(synthesizeDrJobDefinition().definition);
  });
});
