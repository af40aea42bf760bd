/**
 * Settings problems in words, each under the place its value came from (SPEC §9): the config file's path, the
 * environment variable (`COMMSERVE_DR_<Name>`), the SSM parameter, or the embedded defaults — never a list of every
 * source ("…, the environment") when one of them set the value. A key that is not a setting (the settings refuse
 * unknown keys) or a nested key that is probably a misspelling of a known one (`HotSite.bukcet` next to a missing
 * `HotSite.bucket`, or for `HotSite.endpiont`) says which setting it probably meant: `did you mean HotSite.bucket?`.
 */
import { ConfigError } from '#core/errors';
import { settingKeysAt, settingsIssues } from '#core/settings';
import { closestName, ENV_PREFIX } from './config-env';

/** Where a top-level setting's value came from (as `LoadedConfig.sources` records it). */
export type IssueSource = 'default' | 'file' | 'environment' | 'ssm';

/** The places named in messages: the config file read (or null), the SSM path read (with its trailing `/`, or null). */
export interface IssuePlaces {
  file: string | null;
  ssmPath: string | null;
}

/**
 * The place a top-level setting came from, in words: the config file's path, `environment variable COMMSERVE_DR_X`,
 * `SSM parameter /path/X`, or `the embedded defaults`.
 */
export function sourcePlace(setting: string, source: IssueSource | undefined, places: IssuePlaces): string {
  if (source === 'file' && places.file) return places.file;
  if (source === 'environment') return `environment variable ${ENV_PREFIX}${setting}`;
  if (source === 'ssm' && places.ssmPath) return `SSM parameter ${places.ssmPath}${setting}`;
  return 'the embedded defaults';
}

/** The raw object at `path` in `raw`, or undefined. */
function objectAt(raw: Record<string, unknown>, path: readonly string[]): Record<string, unknown> | undefined {
  let at: unknown = raw;
  for (const key of path) at = at !== null && typeof at === 'object' && !Array.isArray(at) ? (at as Record<string, unknown>)[key] : undefined;
  return at !== null && typeof at === 'object' && !Array.isArray(at) ? (at as Record<string, unknown>) : undefined;
}

/**
 * Keys of nested objects in `raw` that are no setting but close to one that is absent there (a likely misspelling,
 * silently dropped by the schema otherwise): `{ path: ["HotSite"], key: "endpiont", meant: "endpoint" }`.
 */
function misspeltNestedKeys(raw: Record<string, unknown>): Array<{ path: string[]; key: string; meant: string }> {
  const out: Array<{ path: string[]; key: string; meant: string }> = [];
  const visit = (path: string[]) => {
    const known = settingKeysAt(path);
    const object = objectAt(raw, path);
    if (!object || known.length === 0) return;
    for (const key of Object.keys(object)) {
      if (known.includes(key)) {
        visit([...path, key]);
        continue;
      }
      const meant = closestName(key, known);
      if (meant && !(meant in object)) out.push({ path, key, meant });
    }
  };
  for (const top of Object.keys(raw)) if (settingKeysAt([top]).length > 0) visit([top]);
  return out;
}

/**
 * Checks the merged settings and, when anything is wrong, builds the error naming each problem's source.
 * @param raw the merged settings (file, environment, SSM), before validation.
 * @param sources where each top-level key came from.
 * @returns null when the settings are valid.
 */
export function settingsProblems(raw: Record<string, unknown>, sources: Readonly<Record<string, IssueSource>>, places: IssuePlaces): ConfigError | null {
  const found: Array<{ setting: string; text: string }> = [];
  const misspelt = misspeltNestedKeys(raw);
  for (const issue of settingsIssues(raw)) {
    if (issue.unknownKeys && issue.path.length === 0) {
      for (const key of issue.unknownKeys) {
        const meant = closestName(key, settingKeysAt([]));
        found.push({ setting: key, text: `"${key}" is not a setting${meant ? ` (did you mean ${meant}?)` : ''}` });
      }
      continue;
    }
    const name = issue.path.join('.') || '(root)';
    const parent = issue.path.slice(0, -1);
    const typo = misspelt.find((m) => m.path.join('.') === parent.join('.') && m.meant === issue.path.at(-1));
    found.push({ setting: issue.path[0] ?? '', text: `${name}: ${issue.message}${typo ? ` ("${[...typo.path, typo.key].join('.')}" is given: did you mean ${name}?)` : ''}` });
  }
  const reported = new Set(found.map((f) => f.text));
  for (const m of misspelt) {
    const meant = [...m.path, m.meant].join('.');
    if ([...reported].some((t) => t.includes(`did you mean ${meant}?`))) continue;
    found.push({ setting: m.path[0], text: `"${[...m.path, m.key].join('.')}" is not a setting (did you mean ${meant}?)` });
  }
  if (found.length === 0) return null;
  // Grouped by place, in the order first met: "invalid settings in <file>: a; b; in environment variable …: c".
  const groups = new Map<string, string[]>();
  for (const f of found) {
    const place = sourcePlace(f.setting, sources[f.setting], places);
    groups.set(place, [...(groups.get(place) ?? []), f.text]);
  }
  const message = `invalid settings ${[...groups].map(([place, texts]) => `in ${place}: ${texts.join('; ')}`).join('; ')}`;
  return new ConfigError(message, { context: { issues: found.map((f) => f.text), sources: [...groups.keys()] } });
}
