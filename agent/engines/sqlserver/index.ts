/** The SQL Server engine (issue 6): engine, restore, T-SQL builders, parsers, session, credentials, retries. */
export * from './credentials';
export * from './parse';
export * from './principals';
export * from './restore';
export * from './retry';
export * from './rights';
export * from './session';
export * from './sqlserver-engine';
export * from './tls';
export * from './tsql';
