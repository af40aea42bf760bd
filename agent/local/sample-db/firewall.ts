/**
 * The sample CommServe's firewall configuration: `FwPeers.txt` (who the CommServe talks to and
 * in which direction), `FwHosts.txt` (host names and addresses) and `FwPorts.txt` (open ports
 * and ranges). Windows text files (CRLF line ends, ASCII), consistent with the sample database's
 * clients and MediaAgents, deterministic from the seed.
 */
import type { SampleCatalog } from './catalog';
import { Prng } from './prng';

/** The three firewall files, by file name. */
export type SampleFirewallFiles = Record<'FwPeers.txt' | 'FwHosts.txt' | 'FwPorts.txt', string>;

/** File names of the firewall configuration, in the order they are written. */
export const FIREWALL_FILE_NAMES = ['FwPeers.txt', 'FwHosts.txt', 'FwPorts.txt'] as const;

function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length); });
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]! + 2))).join('').trimEnd());
}

/**
 * Builds the text of the three firewall files for a catalog. Pure and deterministic.
 * @param catalog the sample CommCell (clients, MediaAgents, identity).
 * @param seed the sample's seed.
 */
export function sampleFirewallFiles(catalog: SampleCatalog, seed: number): SampleFirewallFiles {
  const rng = new Prng(seed, 4);
  const id = catalog.identity;
  const header = (file: string, what: string): string[] => [
    `; ${file} - ${what}`,
    `; CommCell ${id.commcellName}, CommServe ${id.commserveHostname} (sample, seed ${seed})`,
    '; Lines starting with ";" are comments. Changes take effect after "Push Firewall Configuration".',
    ';',
  ];
  const tunnelPort = 8403;
  const dmzProxy = `fwgw-dmz-01.corp.example`;
  const live = catalog.clients.filter((c) => c.status !== 'Decommissioned' && c.role !== 'cs');

  // --- FwPeers.txt
  const peerRows: string[][] = [['; client', 'hostname', 'direction', 'tunnel port', 'encryption', 'keep-alive s', 'via']];
  for (const c of live) {
    const dmz = c.role === 'web' && c.env === 'prod';
    const direction = c.role === 'ma' ? 'BOTH' : dmz ? 'INCOMING' : rng.weighted([['BOTH', 6], ['OUTGOING', 3], ['INCOMING', 1]]);
    peerRows.push([
      c.name, c.hostname, direction, String(tunnelPort), c.role === 'ma' ? 'AES_256' : rng.pick(['AES_256', 'AES_128', 'NONE']),
      String(c.role === 'ma' ? 300 : 180), dmz ? dmzProxy : 'direct',
    ]);
  }
  const peers = [...header('FwPeers.txt', 'firewall peers of the CommServe'), ...table(peerRows), ''];

  // --- FwHosts.txt
  const hostRows: string[][] = [['; hostname', 'address', 'alias', 'role']];
  hostRows.push([id.commserveHostname, id.commserveIp, id.commserveClientName, 'commserve']);
  hostRows.push([dmzProxy, '172.16.0.5', 'fwgw-dmz-01', 'network-proxy']);
  hostRows.push(['vcenter-01.corp.example', '10.10.0.50', 'vcenter-01', 'hypervisor']);
  for (const c of live) hostRows.push([c.hostname, c.ip_address, c.name, c.role === 'ma' ? 'mediaagent' : 'client']);
  const hosts = [...header('FwHosts.txt', 'host names and addresses used by the tunnels'), ...table(hostRows), ''];

  // --- FwPorts.txt
  const dataStart = 8600 + rng.int(0, 9) * 10;
  const dataCount = rng.pick([20, 40, 50, 100]);
  const portRows: string[][] = [
    ['; port(s)', 'protocol', 'direction', 'service'],
    ['8400', 'tcp', 'BOTH', 'CVD - Commvault Communications Service'],
    ['8401', 'tcp', 'INCOMING', 'EvMgrS - Event Manager Service'],
    ['8403', 'tcp', 'BOTH', 'Firewall tunnel (CVFWD)'],
    ['8405', 'tcp', 'INCOMING', 'Web Server / Command Center API'],
    ['8408', 'tcp', 'INCOMING', 'CommServe Management Service'],
    [`${dataStart}-${dataStart + dataCount - 1}`, 'tcp', 'BOTH', 'Data transfer: restricted open ports (MediaAgents)'],
    ['443', 'tcp', 'OUTGOING', `HTTPS to cloud libraries (${catalog.libraries.filter((l) => l.library_type === 'cloud').map((l) => l.cloud_bucket).join(', ')})`],
    ['1433', 'tcp', 'LOCAL', `SQL Server instance ${id.sqlInstance} (loopback only)`],
  ];
  if (rng.chance(0.5)) portRows.push(['10000', 'tcp', 'OUTGOING', 'NDMP to NAS filers']);
  const ports = [...header('FwPorts.txt', 'ports and port ranges opened for Commvault traffic'), ...table(portRows), ''];

  const crlf = (lines: string[]): string => lines.join('\r\n');
  return { 'FwPeers.txt': crlf(peers), 'FwHosts.txt': crlf(hosts), 'FwPorts.txt': crlf(ports) };
}
