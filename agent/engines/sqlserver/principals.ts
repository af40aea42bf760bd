/**
 * Owner, TRUSTWORTHY and users of the CommServe database (issue 23 item 7): recorded at backup time
 * ({@link readPrincipals}, into the FULL's manifest) and put back after a restore ({@link restorePrincipals}):
 *
 * - a restored database's users keep the SIDs of the source server's logins: on another server they are *orphaned*
 *   (no login with that SID). A user whose login of the same name exists is re-mapped with
 *   `ALTER USER … WITH LOGIN = …` (as dbatools' Repair-DbaDbOrphanUser does); the others are listed;
 * - the owner is put back with `ALTER AUTHORIZATION ON DATABASE::… TO …` when that login exists here;
 * - TRUSTWORTHY is OFF after a restore; it is set ON again only when it was ON at backup time;
 * - every login the database's users map to is listed, with those missing on this server.
 * Each step is best effort: a failure becomes a note (the report's warnings), never a failed recovery.
 */
import type { DatabaseIdentity, Manifest } from '#core/manifest';
import { SHORT_REQUEST_TIMEOUT_MS, type SqlSession } from './session';
import { databaseOwnerStatement, existingLoginsQuery, orphanedUsersQuery, principalsQuery, remapUserStatement, trustworthyStatement } from './tsql';

/** What {@link readPrincipals} records: manifest `details` scalars and the `databaseUsers` list. */
export interface RecordedPrincipals {
  details: { DatabaseOwner: string | null; DatabaseOwnerSid: string | null; IsTrustworthy: boolean | null };
  databaseUsers: NonNullable<DatabaseIdentity['databaseUsers']>;
}

/**
 * Reads owner, TRUSTWORTHY and mapped users of `database` ({@link principalsQuery}).
 * @returns null when not readable (the FULL is still taken; recovery then lists what it can see).
 */
export async function readPrincipals(session: SqlSession, database: string): Promise<RecordedPrincipals | null> {
  try {
    const result = await session.execute(principalsQuery(database), { timeoutMs: SHORT_REQUEST_TIMEOUT_MS });
    const db = result.recordsets[0]?.[0];
    const users = result.recordsets[1] ?? [];
    const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
    return {
      details: {
        DatabaseOwner: text(db?.owner_login),
        DatabaseOwnerSid: text(db?.owner_sid),
        IsTrustworthy: db?.is_trustworthy_on === undefined || db?.is_trustworthy_on === null ? null : Boolean(db.is_trustworthy_on),
      },
      databaseUsers: users.map((u) => ({ user: String(u.user_name ?? ''), type: String(u.user_type ?? '').trim(), sid: text(u.sid), login: text(u.login_name) })),
    };
  } catch {
    return null;
  }
}

/** What {@link restorePrincipals} did. */
export interface RestoredPrincipals {
  /** Owner recorded at backup time, and whether it was set. */
  owner: { login: string | null; restored: boolean };
  /** TRUSTWORTHY at backup time, and whether it is now as it was. */
  trustworthy: { atBackup: boolean | null; restored: boolean };
  /** Users re-mapped to the login of their name. */
  remapped: string[];
  /** Users still orphaned (no login of that SID or name here). */
  orphaned: string[];
  /** Logins the database's users map to (at backup time). */
  loginsNeeded: string[];
  /** Of those, the ones that do not exist on this server. */
  missingLogins: string[];
  /** Operator-facing notes (for the report's warnings). */
  notes: string[];
}

/**
 * Puts owner, TRUSTWORTHY and users back after a restore (see the module comment), from the FULL's manifest.
 * @param record called with every statement sent (the report lists them).
 */
export async function restorePrincipals(session: SqlSession, database: string, full: Manifest, record: (batch: string) => void = () => undefined): Promise<RestoredPrincipals> {
  const d = full.database.details;
  const ownerLogin = typeof d.DatabaseOwner === 'string' ? d.DatabaseOwner : null;
  const trustworthy = typeof d.IsTrustworthy === 'boolean' ? d.IsTrustworthy : null;
  const users = full.database.databaseUsers ?? [];
  const out: RestoredPrincipals = { owner: { login: ownerLogin, restored: false }, trustworthy: { atBackup: trustworthy, restored: false }, remapped: [], orphaned: [], loginsNeeded: [], missingLogins: [], notes: [] };
  const send = async (batch: string) => {
    record(batch);
    return session.execute(batch, { timeoutMs: SHORT_REQUEST_TIMEOUT_MS });
  };
  out.loginsNeeded = [...new Set([...users.map((u) => u.login).filter((l): l is string => !!l), ...(ownerLogin ? [ownerLogin] : [])])].sort();
  let existing = new Set<string>();
  try {
    const rows = (await send(existingLoginsQuery(out.loginsNeeded))).recordsets[0] ?? [];
    existing = new Set(rows.map((r) => String(r.name).toLowerCase()));
    out.missingLogins = out.loginsNeeded.filter((l) => !existing.has(l.toLowerCase()));
    if (out.missingLogins.length) out.notes.push(`logins the database needs are missing on this server: ${out.missingLogins.join(', ')} (create them, then re-map their users: ALTER USER … WITH LOGIN = …)`);
  } catch (error) {
    out.notes.push(`could not check which logins exist (${(error as Error).message})`);
  }
  if (ownerLogin && existing.has(ownerLogin.toLowerCase())) {
    try {
      await send(databaseOwnerStatement(database, ownerLogin));
      out.owner.restored = true;
    } catch (error) {
      out.notes.push(`database owner not set back to ${ownerLogin} (${(error as Error).message})`);
    }
  } else if (ownerLogin) {
    out.notes.push(`database owner at backup time was ${ownerLogin}, which does not exist here: the owner is the restoring login`);
  }
  if (trustworthy === true) {
    try {
      await send(trustworthyStatement(database, true));
      out.trustworthy.restored = true;
    } catch (error) {
      out.notes.push(`TRUSTWORTHY was ON at backup time and could not be set ON again (needs sysadmin): ${(error as Error).message}`);
    }
  } else if (trustworthy === false) {
    out.trustworthy.restored = true; // a restore leaves TRUSTWORTHY OFF, as it was
  }
  try {
    const orphans = (await send(orphanedUsersQuery(database))).recordsets[0] ?? [];
    for (const o of orphans) {
      const user = String(o.user_name);
      const login = o.same_name_login === null || o.same_name_login === undefined ? null : String(o.same_name_login);
      const windowsUser = ['U', 'G'].includes(String(o.user_type).trim());
      const windowsLogin = ['U', 'G'].includes(String(o.login_type ?? '').trim());
      if (login && windowsUser === windowsLogin) {
        try {
          await send(remapUserStatement(database, user, login));
          out.remapped.push(user);
          continue;
        } catch (error) {
          out.notes.push(`user ${user} could not be re-mapped to login ${login} (${(error as Error).message})`);
        }
      }
      out.orphaned.push(user);
    }
    if (out.orphaned.length) out.notes.push(`orphaned users (no login of their SID or name on this server): ${out.orphaned.join(', ')}`);
  } catch (error) {
    out.notes.push(`could not list orphaned users (${(error as Error).message})`);
  }
  return out;
}
