// Real CRDs of public projects (Gateway API, cert-manager, KEDA, external-secrets; see corpus/README.md) work
// as on Kubernetes: they install and become Established, `kubectl explain` describes them, example objects
// create with their defaults, printer columns print, schema and CEL violations get Kubernetes' 422, and
// re-applying changes nothing.

import { join } from 'node:path';
import t from 'tap';
import { startTestServer, type TestServer } from '@berth/testkit';

const corpus = join(import.meta.dirname, 'corpus');

interface Case {
  readonly name: string;
  readonly crds: readonly string[];
  readonly example: { readonly file?: string; readonly yaml?: string };
  readonly explain: readonly [string, RegExp];
  readonly defaults: readonly (readonly [string, string, string])[];
  readonly columns: readonly (readonly [string, RegExp])[];
  readonly invalid: { readonly yaml: string; readonly messages: readonly string[] };
  /** An update of the example that a transition rule (oldSelf) refuses. */
  readonly transition?: { readonly yaml: string; readonly messages: readonly string[] };
}

const cases: Case[] = [
  {
    name: 'Gateway API (GatewayClass, Gateway, HTTPRoute)',
    crds: ['gateway-api-gatewayclasses.yaml', 'gateway-api-gateways.yaml', 'gateway-api-httproutes.yaml'],
    example: { file: 'gateway-api-example-basic-http.yaml' },
    explain: ['httproute.spec.rules.matches.path', /PathPrefix/],
    defaults: [
      ['gateway/my-gateway', '{.spec.listeners[0].allowedRoutes.namespaces.from}', 'Same'],
      ['httproute/http-app-1', '{.spec.parentRefs[0].kind}', 'Gateway'],
      ['httproute/http-app-1', '{.spec.rules[0].backendRefs[0].weight}', '1'],
      // status is not written on create; its default appears when the object is read.
      ['gatewayclass/example', '{.status.conditions[0].reason}', 'Pending'],
    ],
    columns: [
      ['gatewayclass', /example\s+acme\.io\/gateway-controller\s+Unknown\s+\d+s/],
      ['gateway', /my-gateway\s+example\s+Unknown\s+\d+s/],
      ['httproute', /http-app-1\s+\["?foo\.com"?\]|http-app-1\s+foo\.com/],
    ],
    invalid: {
      yaml: `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bad-route}
spec:
  parentRefs: [{name: my-gateway}]
  hostnames: [Foo_bar]
  rules:
  - matches: [{path: {type: PathPrefix, value: bar}}]
    backendRefs: [{name: svc, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bad-gateway}
spec:
  gatewayClassName: example
  listeners:
  - {name: a, protocol: HTTP, port: 80}
  - {name: b, protocol: HTTP, port: 80}
  - {name: c, protocol: HTTP, port: 0}
`,
      messages: [
        `HTTPRoute.gateway.networking.k8s.io "bad-route" is invalid: `,
        `spec.rules[0].matches[0].path: Invalid value: "object": value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']`,
        `spec.hostnames[0]: Invalid value: "Foo_bar": spec.hostnames[0] in body should match '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'`,
        `Gateway.gateway.networking.k8s.io "bad-gateway" is invalid: `,
        `spec.listeners[2].port: Invalid value: 0: spec.listeners[2].port in body should be greater than or equal to 1`,
        `spec.listeners: Invalid value: "array": Combination of port, protocol and hostname must be unique for each listener`,
      ],
    },
  },
  {
    name: 'cert-manager Certificate',
    crds: ['cert-manager-certificates.yaml'],
    example: {
      yaml: `apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: example-com}
spec:
  secretName: example-com-tls
  dnsNames: [example.com, www.example.com]
  duration: 2160h
  issuerRef: {name: ca-issuer, kind: Issuer}
  privateKey: {algorithm: ECDSA, size: 256}
`,
    },
    explain: ['certificate.spec.secretName', /Name of the Secret resource that will be automatically created/],
    defaults: [],
    columns: [
      ['certificate', /example-com\s+example-com-tls\s+\d+s/],
      ['certificate -o wide', /example-com\s+example-com-tls\s+ca-issuer\s+\d+s/],
    ],
    invalid: {
      yaml: `apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: bad-cert}
spec:
  dnsNames: [example.com]
  privateKey: {algorithm: DSA}
`,
      messages: [
        `The Certificate "bad-cert" is invalid: `,
        'spec.secretName: Required value',
        'spec.issuerRef: Required value',
        'spec.privateKey.algorithm: Unsupported value: "DSA": supported values: "RSA", "ECDSA", "Ed25519"',
      ],
    },
  },
  {
    name: 'KEDA ScaledObject',
    crds: ['keda-scaledobjects.yaml'],
    example: {
      yaml: `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: web}
spec:
  scaleTargetRef: {name: web}
  minReplicaCount: 1
  maxReplicaCount: 10
  triggers:
  - type: cpu
    metricType: Utilization
    metadata: {value: "50"}
`,
    },
    explain: ['scaledobject.spec.triggers', /ScaleTriggers reference the scaler/i],
    defaults: [],
    columns: [['scaledobject', /web\s+\S*\s*web\s+1\s+10\s+/]],
    invalid: {
      yaml: `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: bad-scaler}
spec:
  scaleTargetRef: {name: web}
  minReplicaCount: 5
  maxReplicaCount: 2
`,
      messages: [
        `The ScaledObject "bad-scaler" is invalid: `,
        'spec.triggers: Required value',
        'spec: Invalid value: "object": minReplicaCount must be less than or equal to maxReplicaCount',
      ],
    },
  },
  {
    name: 'external-secrets ExternalSecret',
    crds: ['external-secrets-externalsecrets.yaml'],
    example: {
      yaml: `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db-password}
spec:
  secretStoreRef: {name: vault, kind: SecretStore}
  target: {name: db-secret}
  data:
  - secretKey: password
    remoteRef: {key: db/password}
`,
    },
    explain: ['externalsecret.spec.refreshInterval', /RefreshInterval/],
    defaults: [
      ['externalsecret/db-password', '{.spec.refreshInterval}', '1h0m0s'],
      ['externalsecret/db-password', '{.spec.target.creationPolicy}', 'Owner'],
    ],
    columns: [['externalsecret', /db-password\s+SecretStore\s+vault\s+1h0m0s\s+/]],
    invalid: {
      yaml: `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: bad-secret}
spec:
  secretStoreRef: {name: vault, kind: Vault}
  target: {name: db-secret, creationPolicy: Sometimes}
`,
      messages: [
        `The ExternalSecret "bad-secret" is invalid: `,
        'spec.target.creationPolicy: Unsupported value: "Sometimes": supported values: "Owner", "Orphan", "Merge", "None"',
        'spec.secretStoreRef.kind: Unsupported value: "Vault": supported values: "SecretStore", "ClusterSecretStore"',
      ],
    },
  },
  {
    name: 'Istio (every CRD of the release; PeerAuthentication exercised)',
    crds: ['istio-crd-all.yaml'],
    example: {
      yaml: `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default}
spec:
  selector: {matchLabels: {app: web}}
  mtls: {mode: STRICT}
  portLevelMtls: {"8080": {mode: PERMISSIVE}}
`,
    },
    explain: ['peerauthentication.spec.mtls.mode', /PERMISSIVE/],
    defaults: [],
    columns: [['peerauthentication', /default\s+STRICT\s+\d+s/]],
    invalid: {
      yaml: `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: bad-peer}
spec:
  selector: {matchLabels: {"app*": web}}
  mtls: {mode: SOMETIMES}
  portLevelMtls: {"0": {mode: STRICT}}
`,
      messages: [
        `The PeerAuthentication "bad-peer" is invalid: `,
        'spec.mtls.mode: Unsupported value: "SOMETIMES": supported values: "UNSET", "DISABLE", "PERMISSIVE", "STRICT"',
        'spec.portLevelMtls: Invalid value: "object": port must be between 1-65535',
        'spec.selector.matchLabels: Invalid value: "object": wildcard not allowed in label key match',
      ],
    },
  },
  {
    name: 'Crossplane CompositeResourceDefinition',
    crds: ['crossplane-compositeresourcedefinitions.yaml'],
    example: {
      yaml: `apiVersion: apiextensions.crossplane.io/v1
kind: CompositeResourceDefinition
metadata: {name: xpostgresqlinstances.example.org}
spec:
  group: example.org
  names: {kind: XPostgreSQLInstance, plural: xpostgresqlinstances}
  versions:
  - name: v1alpha1
    served: true
    referenceable: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {storageGB: {type: integer}}}
`,
    },
    explain: ['compositeresourcedefinition.spec.names', /plural/],
    defaults: [],
    columns: [['xrd', /xpostgresqlinstances\.example\.org\s+\d+s/]],
    invalid: {
      yaml: `apiVersion: apiextensions.crossplane.io/v1
kind: CompositeResourceDefinition
metadata: {name: xbad.example.org}
spec:
  group: example.org
  names: {kind: XBad, plural: XBads}
  versions: [{name: v1alpha1, served: true, referenceable: true}]
`,
      messages: [
        `The CompositeResourceDefinition "xbad.example.org" is invalid: `,
        'spec.names: Invalid value: "object": Plural name must be lowercase',
      ],
    },
    transition: {
      yaml: `apiVersion: apiextensions.crossplane.io/v1
kind: CompositeResourceDefinition
metadata: {name: xpostgresqlinstances.example.org}
spec:
  group: example.org
  names: {kind: XPostgreSQLDatabase, plural: xpostgresqlinstances}
  versions:
  - name: v1alpha1
    served: true
    referenceable: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {storageGB: {type: integer}}}
`,
      messages: [
        `The CompositeResourceDefinition "xpostgresqlinstances.example.org" is invalid: `,
        'spec.names: Invalid value: "object": Value is immutable',
      ],
    },
  },
  {
    name: 'Flux Bucket',
    crds: ['flux-buckets.yaml'],
    example: {
      yaml: `apiVersion: source.toolkit.fluxcd.io/v1
kind: Bucket
metadata: {name: podinfo}
spec:
  interval: 5m0s
  bucketName: podinfo
  endpoint: minio.example.com
`,
    },
    explain: ['bucket.spec.bucketName', /BucketName is the name of the object storage bucket/],
    defaults: [
      ['bucket/podinfo', '{.spec.provider}', 'generic'],
      ['bucket/podinfo', '{.spec.timeout}', '60s'],
      ['bucket/podinfo', '{.status.observedGeneration}', '-1'],
    ],
    columns: [['bucket', /podinfo\s+minio\.example\.com\s+\d+s/]],
    invalid: {
      yaml: `apiVersion: source.toolkit.fluxcd.io/v1
kind: Bucket
metadata: {name: bad-bucket}
spec:
  interval: 5 minutes
  bucketName: podinfo
  endpoint: minio.example.com
  provider: generic
  serviceAccountName: reader
`,
      messages: [
        `The Bucket "bad-bucket" is invalid: `,
        'spec.interval: Invalid value: "5 minutes": spec.interval in body should match \'^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$\'',
        'spec: Invalid value: "object": ServiceAccountName is not supported for the \'generic\' Bucket provider',
      ],
    },
  },
];

const file = (name: string) => join(corpus, name);

async function applyExample(ts: TestServer, c: Case) {
  return c.example.file !== undefined
    ? ts.kubectl(['apply', '-f', file(c.example.file)])
    : ts.kubectl(['apply', '-f', '-'], { input: c.example.yaml ?? '' });
}

t.test('real CRDs behave as on Kubernetes', async (t) => {
  const ts = await startTestServer();
  t.teardown(() => ts.close());
  for (const c of cases) {
    t.test(c.name, async (t) => {
      for (const crd of c.crds) {
        const installed = await ts.kubectl(['apply', '-f', file(crd)]);
        t.equal(installed.code, 0, `${crd} installs: ${installed.stderr}`);
        const name =
          /customresourcedefinition\.apiextensions\.k8s\.io\/(\S+) created/.exec(installed.stdout)?.[1] ?? '';
        const established = await ts.kubectl(['wait', '--for=condition=Established', `crd/${name}`, '--timeout=20s']);
        t.equal(established.code, 0, `${name} is Established: ${established.stderr}`);
        const again = await ts.kubectl(['apply', '-f', file(crd)]);
        t.match(again.stdout, /unchanged/, `re-applying ${crd} is a no-op`);
      }
      const explained = await ts.kubectl(['explain', c.explain[0]]);
      t.equal(explained.code, 0, explained.stderr);
      t.match(explained.stdout, c.explain[1], `kubectl explain ${c.explain[0]}`);

      const created = await applyExample(ts, c);
      t.equal(created.code, 0, created.stderr);
      t.match(created.stdout, /created/);
      for (const [object, jsonPath, expected] of c.defaults) {
        const got = await ts.kubectl(['get', object, '-o', `jsonpath=${jsonPath}`]);
        t.equal(got.stdout, expected, `${object} ${jsonPath} defaults to ${expected}`);
      }
      for (const [resource, row] of c.columns) {
        const got = await ts.kubectl(['get', ...resource.split(' ')]);
        t.match(got.stdout, row, `kubectl get ${resource} prints its columns:\n${got.stdout}`);
      }
      const before = await ts.kubectl(
        [
          'get',
          '-f',
          c.example.file !== undefined ? file(c.example.file) : '-',
          '-o',
          'jsonpath={range .items[*]}{.metadata.resourceVersion} {end}',
        ],
        { input: c.example.yaml ?? '' },
      );
      const reapplied = await applyExample(ts, c);
      t.equal(reapplied.code, 0, reapplied.stderr);
      // kubectl may say "configured" (its merge patch replaces lists that hold defaults) but nothing is written.
      t.notMatch(reapplied.stdout, /created/, `re-applying the example creates nothing: ${reapplied.stdout}`);
      const after = await ts.kubectl(
        [
          'get',
          '-f',
          c.example.file !== undefined ? file(c.example.file) : '-',
          '-o',
          'jsonpath={range .items[*]}{.metadata.resourceVersion} {end}',
        ],
        { input: c.example.yaml ?? '' },
      );
      t.equal(after.stdout, before.stdout, 'resourceVersions stay');

      const refused = await ts.kubectl(['apply', '-f', '-'], { input: c.invalid.yaml });
      t.not(refused.code, 0, 'the invalid objects are refused');
      for (const m of c.invalid.messages)
        t.ok(refused.stderr.includes(m), `${m}\n--- kubectl said:\n${refused.stderr}`);
      if (c.transition !== undefined) {
        const changed = await ts.kubectl(['apply', '-f', '-'], { input: c.transition.yaml });
        t.not(changed.code, 0, 'the update a transition rule forbids is refused');
        for (const m of c.transition.messages)
          t.ok(changed.stderr.includes(m), `${m}\n--- kubectl said:\n${changed.stderr}`);
      }
    });
  }
});
