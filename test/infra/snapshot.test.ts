import { synth, type TemplateJson } from './support/synth';

/**
 * One snapshot of the whole template (default context), so any change to the deployed resources is
 * seen in review. Lambda code locations are replaced: they depend on the handlers' sources, which
 * change independently of the infrastructure.
 */
function normalise(json: TemplateJson): TemplateJson {
  const copy = JSON.parse(JSON.stringify(json)) as TemplateJson;
  for (const resource of Object.values(copy.Resources)) {
    if (resource.Type === 'AWS::Lambda::Function') resource.Properties.Code = '<lambda bundle>';
  }
  return copy;
}

describe('CommserveDrStack template', () => {
  it('matches the snapshot', () => {
    expect(normalise(synth().json)).toMatchSnapshot();
  });
});
