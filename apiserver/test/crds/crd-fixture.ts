// Builds small CRDs for tests and installs them through the real API, waiting until their resources are served.

import type { JSONSchemaProps } from '@berth/api';
import { eventually, request, type RawResponse, type TestServer } from '@berth/testkit';

export const group = 'tests.example.com';

/** A namespaced CRD `widgets.tests.example.com` (kind Widget, v1) with `schema` as its openAPIV3Schema. */
export function widgetCrd(
  schema: JSONSchemaProps,
  extra: Record<string, unknown> = {},
  kind = 'Widget',
): Record<string, unknown> {
  const singular = kind.toLowerCase();
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${singular}s.${group}` },
    spec: {
      group,
      names: { plural: `${singular}s`, singular, kind, listKind: `${kind}List` },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: schema },
          subresources: { status: {} },
          ...extra,
        },
      ],
    },
  };
}

export const widgetsPath = `/apis/${group}/v1/namespaces/default/widgets`;
export const pathOf = (kind: string): string => `/apis/${group}/v1/namespaces/default/${kind.toLowerCase()}s`;

export const postJson = (ts: TestServer, path: string, body: unknown): Promise<RawResponse> =>
  request(ts, 'POST', path, { body: JSON.stringify(body), contentType: 'application/json' });

export const putJson = (ts: TestServer, path: string, body: unknown): Promise<RawResponse> =>
  request(ts, 'PUT', path, { body: JSON.stringify(body), contentType: 'application/json' });

/** Creates the CRD and waits until its resource answers a list. Throws with the server's answer if refused. */
export async function installCrd(ts: TestServer, crd: Record<string, unknown>): Promise<void> {
  const res = await postJson(ts, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  if (res.status !== 201) throw new Error(`CRD refused: ${res.status} ${res.text}`);
  const spec = crd['spec'] as { group: string; names: { plural: string }; versions: { name: string }[] };
  const path = `/apis/${spec.group}/${spec.versions[0]!.name}/${spec.names.plural}`;
  if (!(await eventually(async () => (await request(ts, 'GET', path)).status === 200)))
    throw new Error(`${path} never served`);
}

export const widget = (
  name: string,
  spec: unknown,
  extra: Record<string, unknown> = {},
  kind = 'Widget',
): Record<string, unknown> => ({
  apiVersion: `${group}/v1`,
  kind,
  metadata: { name, namespace: 'default' },
  spec,
  ...extra,
});

export interface Status {
  kind: string;
  code: number;
  reason: string;
  message: string;
  details?: { causes?: { field?: string; reason?: string; message?: string }[] };
}
