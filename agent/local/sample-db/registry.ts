/**
 * The sample CommServe's registry: the keys a Commvault-like CommServe keeps under its
 * instance key (Base, Database, Firewall, EventManager, MediaAgent, Cvd, …) as `.reg`
 * operations, ready for the `.reg` writer. Deterministic from the seed, and consistent with the
 * sample database (same CommServe name, host, version, install time).
 */
import type { RegOperation, RegValue } from '#agent/registry/types';
import { CONFIG_EPOCH, sampleCommCellIdentity } from './catalog';
import { Prng } from './prng';

/** Root key of the sample CommServe's registry. */
export const SAMPLE_REGISTRY_ROOT = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\CommServeDR-Sample\\CommServe';

/** Module keys exported as separate `<module>.reg` files (SPEC §3), all under {@link SAMPLE_REGISTRY_ROOT}. */
export const SAMPLE_REGISTRY_MODULE_KEYS: readonly string[] = [
  `${SAMPLE_REGISTRY_ROOT}\\MediaAgent`,
  `${SAMPLE_REGISTRY_ROOT}\\Cvd`,
];

const sz = (name: string, data: string): RegValue => ({ name, type: 'REG_SZ', data });
const expandSz = (name: string, data: string): RegValue => ({ name, type: 'REG_EXPAND_SZ', data });
const dword = (name: string, data: number): RegValue => ({ name, type: 'REG_DWORD', data: data >>> 0 });
const qword = (name: string, data: bigint): RegValue => ({ name, type: 'REG_QWORD', data: BigInt.asUintN(64, data).toString() });
const multiSz = (name: string, data: string[]): RegValue => ({ name, type: 'REG_MULTI_SZ', data });
const binary = (name: string, hex: string): RegValue => ({ name, type: 'REG_BINARY', data: hex.toLowerCase() });

/** Windows FILETIME (100 ns since 1601-01-01 UTC) of a Unix time in seconds. */
function fileTime(unixSeconds: number): bigint {
  return (BigInt(unixSeconds) + 11644473600n) * 10000000n;
}

/**
 * The `.reg` operations (all `setKey`, parents before children) of the sample CommServe's
 * registry under {@link SAMPLE_REGISTRY_ROOT}. Uses REG_SZ, REG_EXPAND_SZ, REG_DWORD, REG_QWORD
 * (decimal strings), REG_MULTI_SZ and REG_BINARY (lowercase hex) values; includes a default
 * value (`name: ''`) and strings with quotes and backslashes. Pure and deterministic.
 *
 * @param seed the sample's seed (integer); the same seed gives the same operations.
 */
export function sampleRegistryOperations(seed: number): RegOperation[] {
  const id = sampleCommCellIdentity(seed);
  const rng = new Prng(seed, 3);
  const root = SAMPLE_REGISTRY_ROOT;
  const home = id.installDir;
  const key = (sub: string, values: RegValue[]): RegOperation => ({ op: 'setKey', key: sub ? `${root}\\${sub}` : root, values });
  const servicePack = id.featureRelease;

  return [
    key('', [
      sz('', `Commvault-like CommServe sample (${id.commcellName})`),
      sz('sInstanceName', 'Instance001'),
      sz('sProductVersion', id.version),
      dword('nInstalled', 1),
    ]),
    key('Base', [
      sz('dGALAXYHOME', home),
      sz('dBASEHOME', `${home}\\Base`),
      expandSz('dLOGDIRECTORY', '%ProgramData%\\Commvault Systems\\Galaxy\\LogFiles'),
      expandSz('dTEMPDIR', '%SystemRoot%\\Temp\\Commvault'),
      sz('sCLIENTNAME', id.commserveClientName),
      sz('sHOSTNAME', id.commserveHostname),
      sz('sCSCLIENTNAME', id.commserveClientName),
      sz('sCSHOSTNAME', id.commserveHostname),
      sz('sCommCellName', id.commcellName),
      sz('sCommCellGUID', id.guid),
      sz('sVersion', id.version),
      dword('nFeatureRelease', id.featureRelease),
      dword('nMaintenanceRelease', id.maintenanceRelease),
      dword('nServicePack', servicePack),
      qword('nInstallTime', fileTime(id.installTime)),
      sz('sTimeZone', id.timeZone),
      multiSz('sInstalledPackages', [
        'CommServe', 'Command Center', 'Web Server', 'MediaAgent', 'File System Core', 'File System',
        'CommServe Management Services', 'Workflow Engine',
      ]),
      binary('bCommCellGUID', id.guid.replace(/-/g, '')),
    ]),
    key('Database', [
      sz('sINSTANCE', id.sqlInstance),
      sz('sSERVER', `${id.commserveClientName}\\${id.sqlInstance}`),
      sz('sDBNAME', 'CommServ'),
      sz('sDBEngine', 'SQLite'),
      expandSz('dDBPATH', '%GALAXYHOME%\\CommServeDB\\commserv.db'),
      dword('nPort', 1433),
      dword('nMaxConnections', 200),
      dword('nCommandTimeoutSeconds', 600),
      qword('nDBSizeBytes', BigInt(rng.int(2, 12)) * 1024n ** 3n + BigInt(rng.int(0, 1 << 30))),
      qword('nLastDRBackupTime', fileTime(CONFIG_EPOCH + 1000 * 86400 + rng.int(0, 86399))),
      sz('sDRBackupCommandLine', `"${home}\\Base\\CommServeDR.exe" -backup -type full -dest "\\\\nas-dr-01.corp.example\\CommServeDR"`),
    ]),
    key('Firewall', [
      dword('nEnabled', 1),
      expandSz('dFWCONFIGDIR', '%GALAXYHOME%\\Base\\FwConfig'),
      multiSz('sFwFiles', ['FwPeers.txt', 'FwHosts.txt', 'FwPorts.txt']),
      dword('nTunnelPort', 8403),
      dword('nKeepAliveSeconds', 180),
      dword('nTunnelInitSeconds', 30),
      dword('bEnforceEncryption', 1),
      sz('sEncryptionCipher', 'AES_256'),
    ]),
    key('EventManager', [
      expandSz('dEVLOGDIR', '%GALAXYHOME%\\Log Files'),
      dword('nMaxLogFileSizeMB', 10),
      dword('nMaxLogFiles', 5),
      dword('nEvMgrSPort', 8401),
      dword('nKeepEventsDays', 90),
      multiSz('sForwardSeverities', ['Critical', 'Major']),
      sz('sSyslogServer', 'syslog-01.corp.example:514'),
    ]),
    key('JobManager', [
      dword('nMaxConcurrentJobs', 500),
      dword('nJobHistoryRetentionDays', 365),
      dword('nHighWatermarkJobs', 1000),
      qword('nLastJobId', BigInt(1_000_000 + rng.int(0, 3_000_000))),
    ]),
    key('MediaAgent', [
      sz('sMediaAgentName', id.commserveClientName),
      sz('dIndexCachePath', 'E:\\Commvault\\IndexCache'),
      dword('nIndexCacheCleanupPercent', 85),
      dword('nIndexCacheMinFreePercent', 15),
      qword('nIndexCacheSizeBytes', 500n * 1024n ** 3n),
      dword('nMaxStreams', 100),
      binary('bDDBSettings', rng.hex(24)),
    ]),
    key('MediaAgent\\DiskLibrary', [
      dword('nMaxMountPaths', 64),
      dword('nReserveSpaceGB', 200),
    ]),
    key('Cvd', [
      dword('nPORT', 8400),
      dword('nCVDMaxThreads', 1024),
      dword('nLogLevel', 1),
      sz('sHTTPProxy', ''),
      sz('sServiceCommandLine', `"${home}\\Base\\cvd.exe" -service -instance "Instance001"`),
      qword('nLastHeartbeat', fileTime(CONFIG_EPOCH + 1000 * 86400 + rng.int(0, 86399))),
      binary('bSessionKeyHash', rng.hex(32)),
      multiSz('sAllowedNetworks', ['10.0.0.0/8', '172.16.0.0/12']),
    ]),
  ];
}
