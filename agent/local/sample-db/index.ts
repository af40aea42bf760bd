/**
 * The sample CommServe generator (SPEC §7, local run): a realistic CommServe database in SQLite,
 * its registry hive and its firewall files, deterministic from a seed, at a size the user picks;
 * plus a mutation that simulates activity between two DR backups.
 */
export {
  DEFAULT_SAMPLE_SEED,
  DEFAULT_SAMPLE_SIZE_BYTES,
  MIN_SAMPLE_SIZE_BYTES,
  SAMPLE_DB_FILE,
  SAMPLE_FIREWALL_DIR,
  SAMPLE_REGISTRY_HIVE_FILE,
  generateSampleCommServe,
  type GenerateSampleOptions,
  type SampleCommServe,
} from './generate';
export { mutateSampleCommServe, type MutateSampleOptions } from './mutate';
export { SAMPLE_REGISTRY_MODULE_KEYS, SAMPLE_REGISTRY_ROOT, sampleRegistryOperations } from './registry';
export { FIREWALL_FILE_NAMES, sampleFirewallFiles, type SampleFirewallFiles } from './firewall';
export { buildSampleCatalog, sampleCommCellIdentity, type CommCellIdentity, type SampleCatalog } from './catalog';
export {
  BACKUP_LEVELS,
  EVENT_SEVERITIES,
  JOB_STATUSES,
  JOB_TYPES,
  SAMPLE_DB_APPLICATION_ID,
  SAMPLE_DB_PAGE_SIZE,
  SAMPLE_DB_SCHEMA_VERSION,
  SAMPLE_TABLES,
  type SampleTable,
} from './schema';
