/**
 * The text form of a setting (SPEC §9) as it comes from an environment variable or an SSM parameter.
 * Pure: shared by the agent's config loader and the Lambdas' settings loader.
 */

/**
 * A value from the environment or SSM: JSON when it parses (numbers, booleans, objects), else the text;
 * `unlimited`, `off` or an empty string mean null (e.g. `ArchiveRetainCycles`, `LogBackupIntervalMinutes`).
 */
export function coerceSettingText(text: string): unknown {
  const t = text.trim();
  if (t === '' || t.toLowerCase() === 'unlimited' || t.toLowerCase() === 'off') return null;
  try {
    return JSON.parse(t);
  } catch {
    return text;
  }
}
