import { CommserveDrError, ExitCode, UsageError, describeError } from '#core/errors';

describe('errors', () => {
  it('carries a stable code, exit code and cause', () => {
    const cause = new Error('ENOENT: no such file');
    const error = new CommserveDrError('DB_NOT_FOUND', 'database not found', { cause });
    expect(error.code).toBe('DB_NOT_FOUND');
    expect(error.exitCode).toBe(ExitCode.Failure);
    expect(error.name).toBe('CommserveDrError');
    expect(describeError(error)).toBe('database not found: ENOENT: no such file');
  });
  it('maps usage errors to exit code 2', () => {
    expect(new UsageError('bad flag').exitCode).toBe(2);
  });
});
