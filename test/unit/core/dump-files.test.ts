import { backupTypeFromFileNames, differentialDumpFile, FULL_DUMP_FILE, logDumpFile } from '#core/dump-files';
import { BackupType } from '#core/set-id';

describe('dump file names and the type they reveal in a SET without a manifest', () => {
  it('names the dumps of SPEC §3 and §4.5', () => {
    expect([FULL_DUMP_FILE, differentialDumpFile(12), logDumpFile(13)]).toEqual(['commserv_FULL.dmp', 'commserv_DIFF_12.dmp', 'commserv_LOG_13.dmp']);
  });

  it('a DIFFERENTIAL or LOG dump of the job wins over a FULL; a dump still being written (.partial) counts; another job’s dump does not', () => {
    expect(backupTypeFromFileNames(['manifest.json', 'commserv_DIFF_7.dmp'], 7)).toBe(BackupType.Differential);
    expect(backupTypeFromFileNames(['commserv_LOG_8.dmp.partial'], 8)).toBe(BackupType.Log);
    expect(backupTypeFromFileNames(['commserv_FULL.dmp', 'Cvd.reg'], 9)).toBe(BackupType.Full);
    expect(backupTypeFromFileNames(['commserv_DIFF_70.dmp'], 7)).toBeUndefined();
    expect(backupTypeFromFileNames(['Cvd.reg', 'FwPorts.txt'], 9)).toBeUndefined();
  });
});
