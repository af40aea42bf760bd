/**
 * The SQL Server password (SPEC §9: "a SecureString for SQL Server credentials; never logged"): from the
 * environment variable named by `Database.passwordEnv` (local runs) or the SSM SecureString named by
 * `Database.passwordParameter` (GetParameter WithDecryption). The value is returned to the caller only, which hands
 * it to the driver; no message, log line or error carries it.
 */
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { ConfigError, DatabaseError } from '#core/errors';
import type { Settings } from '#core/settings';

/** The SQL Server variant of the `Database` setting. */
export type SqlServerDatabaseSettings = Extract<Settings['Database'], { engine: 'sqlserver' }>;

/** Where {@link resolveSqlServerPassword} reads from. */
export interface PasswordSources {
  /** Environment to read `passwordEnv` from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** SSM client for `passwordParameter` (created by the caller; only `send(GetParameterCommand)` is used). */
  ssm?: Pick<SSMClient, 'send'>;
}

/**
 * Reads the password: the `passwordEnv` variable when it is set and not empty (a local override), otherwise the
 * `passwordParameter` SecureString.
 * @throws ConfigError when no `user` or neither source is configured; DatabaseError `DB_SECRET_UNAVAILABLE` when the
 *   variable is unset and there is no parameter, or SSM cannot return the parameter (the message names the variable
 *   or parameter, never a value).
 */
export async function resolveSqlServerPassword(db: SqlServerDatabaseSettings, sources: PasswordSources = {}): Promise<{ user: string; password: string; source: string }> {
  if (!db.user) throw new ConfigError('Database.user is required for the SQL Server engine (SQL Server authentication)');
  if (!db.passwordEnv && !db.passwordParameter) {
    throw new ConfigError('Database.passwordEnv (an environment variable) or Database.passwordParameter (an SSM SecureString) must name the SQL Server password');
  }
  const env = sources.env ?? process.env;
  if (db.passwordEnv) {
    const value = env[db.passwordEnv];
    if (value) return { user: db.user, password: value, source: `environment variable ${db.passwordEnv}` };
    if (!db.passwordParameter) {
      throw new DatabaseError('DB_SECRET_UNAVAILABLE', `the SQL Server password variable ${db.passwordEnv} is not set in the agent's environment`);
    }
  }
  const name = db.passwordParameter!;
  if (!sources.ssm) throw new DatabaseError('DB_SECRET_UNAVAILABLE', `no SSM client to read the SQL Server password parameter ${name}`);
  let value: string | undefined;
  try {
    const out = await sources.ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    value = out.Parameter?.Value;
  } catch (error) {
    const kind = (error as { name?: string }).name ?? 'Error';
    throw new DatabaseError('DB_SECRET_UNAVAILABLE', `cannot read the SQL Server password from SSM parameter ${name} (${kind})`, { context: { parameter: name, error: kind } });
  }
  if (!value) throw new DatabaseError('DB_SECRET_UNAVAILABLE', `SSM parameter ${name} holds no SQL Server password`);
  return { user: db.user, password: value, source: `SSM parameter ${name}` };
}
