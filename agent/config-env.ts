/**
 * Settings from environment variables `COMMSERVE_DR_<Name>` (SPEC §9), checked as strictly as the config
 * file's keys: a variable whose name is not a setting is an error naming the setting it probably meant,
 * and a value that starts like JSON but does not parse is an error naming the variable.
 *
 * Settings are spelled in PascalCase (`RetainCycles`), so a name after the prefix that has a lowercase
 * letter is meant as a setting. Names in capitals and underscores are the product's other variables and
 * stay allowed: `COMMSERVE_DR_FAULT_KILL_AT` (fault injection), `COMMSERVE_DR_DB_PASSWORD` (the usual
 * `Database.passwordEnv`), `COMMSERVE_DR_TEST_MOTO` and `COMMSERVE_DR_REPORT_ARTIFACTS` (tests).
 */
import { ConfigError } from '#core/errors';
import { SETTING_NAMES } from '#core/settings';
import { coerceSettingText } from '#core/settings-text';

/** Prefix of the environment variables that set settings. */
export const ENV_PREFIX = 'COMMSERVE_DR_';

/** Names in capitals, digits and underscores after the prefix: not settings (see the module comment). */
const NOT_A_SETTING = /^[A-Z0-9_]+$/;

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/**
 * The known name closest to `name`: the same name in another case first, else the one at the smallest
 * edit distance when it is at most a third of the name's length; `undefined` when nothing is close.
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const sameCase = known.find((k) => k.toLowerCase() === name.toLowerCase());
  if (sameCase) return sameCase;
  let best: { name: string; distance: number } | undefined;
  for (const k of known) {
    const distance = editDistance(name.toLowerCase(), k.toLowerCase());
    if (!best || distance < best.distance) best = { name: k, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(name.length / 3)) ? best.name : undefined;
}

/**
 * The settings set by `COMMSERVE_DR_<Name>` variables, each value coerced as SPEC §9 says (JSON when it
 * is JSON, else the text; empty or `unlimited` mean null).
 * @param extraNames names that are read from the environment but are not settings (e.g. the SSM path key).
 * @throws ConfigError (exit 2) listing every variable that names no setting (with the setting it probably
 *   meant) and every value that starts like JSON (`{`, `[`, `"`) but is invalid JSON (with the parser's reason).
 */
export function settingsFromEnvironment(env: NodeJS.ProcessEnv, extraNames: readonly string[] = []): Record<string, unknown> {
  const known = [...SETTING_NAMES, ...extraNames];
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [variable, text] of Object.entries(env)) {
    if (!variable.startsWith(ENV_PREFIX) || text === undefined) continue;
    const name = variable.slice(ENV_PREFIX.length);
    if (!known.includes(name)) {
      if (NOT_A_SETTING.test(name) || name === '') continue;
      const hint = closestName(name, known);
      problems.push(`environment variable ${variable} names no setting${hint ? ` (did you mean ${ENV_PREFIX}${hint}?)` : ''}`);
      continue;
    }
    const trimmed = text.trim();
    if (/^[[{"]/.test(trimmed)) {
      try {
        JSON.parse(trimmed);
      } catch (error) {
        problems.push(`environment variable ${variable} holds invalid JSON: ${(error as Error).message}`);
        continue;
      }
    }
    values[name] = coerceSettingText(text);
  }
  if (problems.length > 0) throw new ConfigError(problems.join('; '), { context: { issues: problems, source: 'the environment' } });
  return values;
}
