/**
 * TLS and authentication of the SQL Server connection (issue 23 item 5), as `tedious` options. Pure but for reading the
 * CA file; the driver itself is wired in `session.ts`.
 *
 * - TLS is always requested (`encrypt: true`, tedious's default). A SQL Server without an installed certificate
 *   presents a **self-signed** one it generated at start-up, which no machine trusts, so the default
 *   (`trustServerCertificate: false`) fails with `DB_TLS_FAILED` on a typical CommServe. Three ways out, best first:
 *   a certificate from a CA the agent's machine trusts; **pinning** (`tlsCaFile`: the server's own certificate or its
 *   CA, PEM — tedious passes it as `cryptoCredentialsDetails.ca`; or `tlsCertificateThumbprint`: the SHA-1 or SHA-256
 *   fingerprint the server must present); `trustServerCertificate: true` (encrypted but unauthenticated).
 * - `tlsServerName`: the name checked against the certificate when the agent connects by another name or an IP address
 *   (tedious `serverName`, also sent as SNI).
 * - Authentication: `sql` (a SQL Server login, the default) or `ntlm` (a Windows domain account with its password:
 *   tedious `authentication.type = 'ntlm'` with `domain`). Windows *integrated* authentication (Kerberos/SSPI with the
 *   agent's own identity, no password) is not available with tedious — see docs/SQLSERVER.md for what to do.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '#core/errors';

/** The TLS and authentication settings (a subset of the SQL Server `Database` setting). */
export interface SqlServerSecuritySettings {
  trustServerCertificate?: boolean;
  /** PEM file of the server certificate or its CA (pinning). */
  tlsCaFile?: string;
  /** SHA-1 (40 hex) or SHA-256 (64 hex) fingerprint of the server certificate; `:` and spaces ignored. */
  tlsCertificateThumbprint?: string;
  /** Host name expected in the server certificate (default: the `server` setting's host). */
  tlsServerName?: string;
  /** `sql` (default) or `ntlm`. */
  authentication?: 'sql' | 'ntlm';
  /** Windows domain of the `ntlm` account. */
  domain?: string;
}

/** A certificate as Node's `TLSSocket.getPeerCertificate()` returns it (the fields used here). */
export interface PeerCertificate {
  fingerprint?: string;
  fingerprint256?: string;
  subject?: { CN?: string };
}

/** Fingerprint text normalised for comparison: hex digits only, upper case. */
export function normalizeThumbprint(text: string): string {
  return text.replace(/[^0-9A-Fa-f]/g, '').toUpperCase();
}

/**
 * Whether the server certificate matches the pinned thumbprint (SHA-1 as SQL Server Configuration Manager and
 * `certlm.msc` show it, or SHA-256).
 * @throws ConfigError when the pin is neither 40 nor 64 hex digits.
 */
export function certificateMatchesThumbprint(cert: PeerCertificate | undefined, thumbprint: string): boolean {
  const pin = normalizeThumbprint(thumbprint);
  if (pin.length !== 40 && pin.length !== 64) throw new ConfigError(`Database.tlsCertificateThumbprint must be a SHA-1 (40 hex digits) or SHA-256 (64 hex digits) fingerprint`);
  const have = normalizeThumbprint(pin.length === 40 ? (cert?.fingerprint ?? '') : (cert?.fingerprint256 ?? ''));
  return have.length > 0 && have === pin;
}

/** The `tedious` connection options and hook for {@link SqlServerSecuritySettings}. */
export interface DriverSecurity {
  /** Goes into `config.options`. */
  options: { encrypt: true; trustServerCertificate: boolean; serverName?: string; cryptoCredentialsDetails?: { ca: string } };
  /** tedious `authentication` for NTLM (undefined: SQL login through `user`/`password`). */
  authentication?: { type: 'ntlm'; options: { userName: string; password: string; domain: string } };
  /**
   * For a thumbprint pin: attach to the tedious connection before it connects (mssql `beforeConnect`). On the
   * connection's `secure` event — the TLS handshake done, before the login packet (with the password) is sent — a
   * certificate that does not match destroys the socket with an error naming the presented fingerprint.
   */
  beforeConnect?: (connection: { on(event: 'secure', listener: (socket: PinnableSocket) => void): unknown }) => void;
}

/** What the thumbprint check needs of the TLS socket. */
export interface PinnableSocket {
  getPeerCertificate(): PeerCertificate;
  destroy(error?: Error): void;
}

/** The error a thumbprint mismatch destroys the socket with (recognised as `DB_TLS_FAILED`). */
export class CertificatePinError extends Error {
  constructor(readonly presented: string) {
    super(`the server certificate (SHA-1 ${presented || 'none'}) does not match Database.tlsCertificateThumbprint`);
    this.name = 'CertificatePinError';
  }
}

/**
 * The driver options for the settings.
 * @param login the SQL or Windows account (NTLM needs it inside `authentication`).
 * @param readFile reads the CA file (default `fs.readFileSync(…, 'utf8')`).
 * @throws ConfigError for NTLM without a domain, an unreadable or non-PEM CA file, a malformed thumbprint, or a
 *   thumbprint together with `trustServerCertificate: false` and a CA file (choose one pin).
 */
export function driverSecurity(
  settings: SqlServerSecuritySettings,
  login: { user: string; password: string },
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): DriverSecurity {
  const options: DriverSecurity['options'] = { encrypt: true, trustServerCertificate: settings.trustServerCertificate ?? false };
  if (settings.tlsServerName) options.serverName = settings.tlsServerName;
  if (settings.tlsCaFile && settings.tlsCertificateThumbprint) throw new ConfigError('Database.tlsCaFile and Database.tlsCertificateThumbprint are two ways to pin the server certificate: set one');
  if (settings.tlsCaFile) {
    let ca: string;
    try {
      ca = readFile(settings.tlsCaFile);
    } catch (error) {
      throw new ConfigError(`cannot read Database.tlsCaFile ${settings.tlsCaFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`Database.tlsCaFile ${settings.tlsCaFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    options.cryptoCredentialsDetails = { ca };
    options.trustServerCertificate = false; // the pin is the check
  }
  const result: DriverSecurity = { options };
  if (settings.tlsCertificateThumbprint) {
    const pin = settings.tlsCertificateThumbprint;
    certificateMatchesThumbprint(undefined, pin); // validates the format now
    options.trustServerCertificate = true; // the chain is not checked: the fingerprint is
    result.beforeConnect = (connection) => {
      connection.on('secure', (socket) => {
        const cert = socket.getPeerCertificate();
        if (!certificateMatchesThumbprint(cert, pin)) socket.destroy(new CertificatePinError(normalizeThumbprint(cert?.fingerprint ?? '')));
      });
    };
  }
  if ((settings.authentication ?? 'sql') === 'ntlm') {
    if (!settings.domain) throw new ConfigError('Database.authentication "ntlm" needs Database.domain (the Windows domain of Database.user)');
    result.authentication = { type: 'ntlm', options: { userName: login.user, password: login.password, domain: settings.domain } };
  }
  return result;
}

/**
 * The operator-facing explanation of a refused server certificate (the `DB_TLS_FAILED` message's tail).
 */
export const TLS_FAILURE_HELP =
  'a SQL Server without an installed certificate presents a self-signed one that no machine trusts: install a certificate from a CA the agent trusts, or pin this server\'s certificate (Database.tlsCaFile = its PEM file, or Database.tlsCertificateThumbprint), or set Database.trustServerCertificate true (encrypted, not authenticated); when connecting by IP or another name set Database.tlsServerName to the name in the certificate';
