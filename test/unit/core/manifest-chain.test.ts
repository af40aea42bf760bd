import { checkManifestChain, describeChain, manifestSha256, untrustedSets, type ChainLink } from '#core/manifest-chain';
import { setName } from '#core/set-id';

/** A chain of `n` manifests (job ids 1…n) whose bytes are `manifest-<n>`; from `chainFrom` on each records its predecessor. */
function chain(n: number, chainFrom = 1): ChainLink[] {
  const links: ChainLink[] = [];
  for (let id = 1; id <= n; id++) {
    const sha256 = manifestSha256(Buffer.from(`manifest-${id}`));
    const previous = id > chainFrom ? { setName: setName(id - 1), sha256: links[id - 2].sha256 } : undefined;
    links.push({ jobId: id, setName: setName(id), sha256, ...(previous ? { previous } : {}) });
  }
  return links;
}

describe('manifest hash chain (pure check)', () => {
  it('an intact chain: every recorded predecessor matches; order of the input does not matter', () => {
    const report = checkManifestChain(chain(5).reverse());
    expect(report).toEqual({ sets: 5, verifiedLinks: 4, startsAt: setName(1), breaks: [] });
    expect(describeChain(report, 'hot-site')).toBe(`manifest chain at hot-site: intact from ${setName(1)} (4 link(s) checked, 5 SET(s))`);
  });

  it('a replaced manifest (bytes changed, even with consistent files) is named, with its successor as witness', () => {
    const links = chain(4);
    links[1] = { ...links[1], sha256: manifestSha256(Buffer.from('forged')) };
    const report = checkManifestChain(links);
    expect(report.breaks).toEqual([expect.objectContaining({ kind: 'changed', setName: setName(2), witness: setName(3) })]);
    expect(report.breaks[0].message).toContain(`it was replaced after ${setName(3)} was written`);
    expect([...untrustedSets(report).keys()]).toEqual([setName(2)]);
    expect(describeChain(report, 'hot-site')).toMatch(/^manifest chain at hot-site is BROKEN: /);
  });

  it('a SET slipped in between two others is not in the chain; an unlinked manifest after linked ones breaks it', () => {
    const links = chain(3);
    const inserted: ChainLink = { jobId: 3, setName: setName(3), sha256: manifestSha256(Buffer.from('x')), previous: { setName: setName(2), sha256: links[1].sha256 } };
    const later = { ...links[2], jobId: 4, setName: setName(4) }; // names SET 2 as its predecessor: skips 3
    const report = checkManifestChain([links[0], links[1], inserted, later]);
    expect(report.breaks.map((b) => [b.kind, b.setName, b.witness])).toEqual([['not-in-chain', setName(3), setName(4)]]);
    const unlinked = checkManifestChain([...chain(2), { jobId: 3, setName: setName(3), sha256: 'ab'.repeat(32) }]);
    expect(unlinked.breaks.map((b) => [b.kind, b.setName])).toEqual([['unlinked', setName(3)]]);
  });

  it('old manifests without the field are fine: the chain starts where the field starts; an expired predecessor is not a break', () => {
    expect(checkManifestChain(chain(5, 3))).toEqual({ sets: 5, verifiedLinks: 2, startsAt: setName(3), breaks: [] });
    expect(checkManifestChain(chain(5).slice(2))).toEqual({ sets: 3, verifiedLinks: 2, startsAt: setName(3), breaks: [] });
    expect(checkManifestChain(chain(2, 9))).toMatchObject({ startsAt: null, breaks: [] });
    expect(describeChain(checkManifestChain(chain(2, 9)), 'hot-site')).toContain('no manifest records a predecessor yet');
  });
});
