/**
 * Acknowledging cdk-nag findings next to the grant that causes them (cdk-nag 3 reads CDK's
 * `Validations.of(scope).acknowledge()` metadata on the resource or any of its ancestors).
 *
 * A wildcard finding of `AwsSolutions-IAM5` is named after the exact resource or action:
 * `AwsSolutions-IAM5[Resource::<HotSiteBucket6FD9AA44.Arn>/sets/*]`. `wildcardResource` renders a
 * resource the way cdk-nag flattens it (Ref → `<Id>`, GetAtt → `<Id.Attr>`, Join → concatenation), so
 * each acknowledgement covers one scoped wildcard, never the rule as a whole.
 *
 * Only `aws-cdk-lib` is used here: cdk-nag itself is a development dependency, loaded by the tests.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, type IConstruct } from 'constructs';

/** The IAM wildcard rule of the AwsSolutions pack. */
export const IAM5 = 'AwsSolutions-IAM5';

/** Renders a (possibly tokenized) resource ARN as cdk-nag names it in a finding. */
export function wildcardResource(scope: IConstruct, arn: string): string {
  return flatten(Stack.of(scope).resolve(arn));
}

/**
 * Acknowledges `AwsSolutions-IAM5[Resource::<arn>]` on the principal (a role: its policies are its
 * children). A principal that is not a construct (e.g. a service principal) has no policy to check.
 */
export function acknowledgeWildcardResource(principal: IConstruct | iam.IPrincipal, arn: string, reason: string): void {
  if (!Construct.isConstruct(principal)) return;
  Validations.of(principal).acknowledge({ id: `${IAM5}[Resource::${wildcardResource(principal, arn)}]`, reason });
}

function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (o['Fn::Join']) {
      const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if (o['Fn::Sub']) return flatten(o['Fn::Sub']);
    if (o['Fn::GetAtt']) {
      const [resource, attribute] = o['Fn::GetAtt'] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if (o.Ref) return `<${flatten(o.Ref)}>`;
  }
  return JSON.stringify(node);
}
