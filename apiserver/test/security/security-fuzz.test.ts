// A bounded, seeded fuzz run through the security layers (audit, encryption at rest, Pod Security, the node
// authorizer, impersonation, the in-flight limit): generated credentials, impersonation and Audit-ID headers,
// media types and bodies (Containers with hostile securityContexts, Secrets, Namespaces with pod-security labels,
// TokenRequests, access reviews). No 5xx, no hang, every 4xx a Status with its code, every audit line valid JSON,
// and no Secret value generated in the run ever reaches the audit log or the raw store.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { ensureEncryptionConfig, LevelStore } from '@berth/apiserver';
import { request, startTestServer, type TestServer } from '@berth/testkit';

const seed = Number(process.env['BERTH_SECURITY_FUZZ_SEED'] ?? 20261202);
const runs = Number(process.env['BERTH_SECURITY_FUZZ_RUNS'] ?? 400);
const marker = 'FUZZSECRET';

const dir = await mkdtemp(join(tmpdir(), 'berth-security-fuzz-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const auditPath = join(dir, 'audit.log');
const server = await startTestServer({
  controllers: false,
  encryption: await ensureEncryptionConfig(join(dir, 'encryption-config.yaml')),
  audit: { path: auditPath, policy: { rules: [{ level: 'RequestResponse' }] } },
  maxMutatingRequestsInFlight: 3,
});
t.teardown(() => server.close());
const saToken = (await server.kubectl(['create', 'token', 'default'])).stdout.trim();

// ---- generators -------------------------------------------------------------------------------------------------

const headerText = fc.string({ unit: fc.constantFrom(...'abcXYZ019 -_:./=@*%,;"\'\\é'.split('')), maxLength: 40 });
const credential = fc.oneof(
  { weight: 8, arbitrary: fc.constant(`Bearer ${server.token}`) },
  { weight: 4, arbitrary: fc.constant(`Bearer ${saToken}`) },
  fc.constant(`Bearer ${saToken.slice(0, -3)}abc`),
  fc.constant(`Bearer ${saToken.split('.').slice(0, 2).join('.')}.`),
  fc.constant(`Bearer eyJhbGciOiJub25lIn0.${Buffer.from('{"sub":"system:admin"}').toString('base64url')}.`),
  headerText.map((s) => `Bearer ${s}`),
  headerText.map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
  fc.constant(''),
  fc.constant(`Bearer ${'A'.repeat(20_000)}`),
);
const impersonationHeaders = fc.record(
  {
    'Impersonate-User': fc.oneof(
      headerText,
      fc.constant('system:node:n1'),
      fc.constant('system:serviceaccount:default:default'),
    ),
    'Impersonate-Group': fc.oneof(headerText, fc.constant('system:masters'), fc.constant('system:nodes')),
    'Impersonate-Uid': headerText,
    'Impersonate-Extra-scopes': headerText,
  },
  { requiredKeys: [] },
);
const otherHeaders = fc.record(
  {
    'Audit-ID': fc.oneof(headerText, fc.uuid()),
    Accept: fc.oneof(fc.constant('application/json;as=Table;v=v1;g=meta.k8s.io'), headerText),
  },
  { requiredKeys: [] },
);
const contentType = fc.oneof(
  { weight: 10, arbitrary: fc.constant('application/json') },
  fc.constant('application/yaml'),
  fc.constant('application/merge-patch+json'),
  fc.constant('application/apply-patch+yaml'),
  fc.constant('application/vnd.kubernetes.protobuf'),
  headerText,
);
const impersonation = fc
  .tuple(
    fc.oneof({ weight: 4, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: impersonationHeaders }),
    otherHeaders,
    contentType,
  )
  .map(([i, o, ct]) => ({ ...i, ...o, 'Content-Type': ct }));
const secretValue = fc.string({ maxLength: 12 }).map((s) => `${marker}${Buffer.from(s).toString('hex')}`);
const weird = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  headerText,
  fc.array(headerText, { maxLength: 3 }),
  fc.object({ maxDepth: 2 }),
);
const securityContext = fc.record(
  {
    privileged: fc.oneof(fc.boolean(), weird),
    capabilities: fc.record(
      {
        add: fc.oneof(
          fc.array(fc.constantFrom('SYS_ADMIN', 'CAP_NET_RAW', 'chown', 'ALL', ''), { maxLength: 3 }),
          weird,
        ),
        drop: weird,
      },
      { requiredKeys: [] },
    ),
    seccompProfile: fc.oneof(
      fc.record({ type: fc.constantFrom('Unconfined', 'RuntimeDefault', 'Localhost', 'x') }),
      weird,
    ),
    runAsUser: fc.oneof(fc.integer({ min: -1, max: 70000 }), weird),
    runAsNonRoot: weird,
    allowPrivilegeEscalation: weird,
  },
  { requiredKeys: [] },
);
const container = fc.record({
  apiVersion: fc.constant('berth.dev/v1alpha1'),
  kind: fc.constant('Container'),
  metadata: fc.record({
    name: fc.oneof(fc.constant('c'), headerText),
    labels: fc.oneof(fc.constant(undefined), weird),
  }),
  spec: fc.record(
    {
      image: fc.oneof(fc.constant('busybox'), weird),
      nodeName: fc.oneof(fc.constant('n1'), headerText),
      networkMode: fc.oneof(fc.constantFrom('host', 'none', 'bridge'), weird),
      securityContext: fc.oneof(securityContext, weird),
      volumes: fc.oneof(
        fc.array(
          fc.record({
            name: fc.constantFrom('v', 'w'),
            hostPath: fc.oneof(fc.record({ path: fc.constantFrom('/', '/etc', '/srv/../etc', 'rel') }), weird),
          }),
          { maxLength: 2 },
        ),
        weird,
      ),
    },
    { requiredKeys: [] },
  ),
});
const secret = fc.record({
  apiVersion: fc.constant('v1'),
  kind: fc.constant('Secret'),
  metadata: fc.record({ name: fc.oneof(fc.constantFrom('s1', 's2'), headerText) }),
  stringData: fc.dictionary(fc.constantFrom('a', 'b', 'password'), secretValue, { maxKeys: 2 }),
});
const namespace = fc.record({
  apiVersion: fc.constant('v1'),
  kind: fc.constant('Namespace'),
  metadata: fc.record({
    name: fc.constantFrom('ns-a', 'ns-b'),
    labels: fc.dictionary(
      fc.constantFrom(
        'pod-security.kubernetes.io/enforce',
        'pod-security.kubernetes.io/warn',
        'pod-security.kubernetes.io/audit',
      ),
      fc.oneof(fc.constantFrom('privileged', 'baseline', 'restricted'), headerText),
    ),
  }),
});
const review = fc.record({
  apiVersion: fc.constantFrom('authorization.k8s.io/v1', 'authentication.k8s.io/v1', 'x'),
  kind: fc.constantFrom('SelfSubjectAccessReview', 'SelfSubjectRulesReview', 'TokenReview', 'TokenRequest'),
  spec: fc.oneof(
    fc.record(
      {
        resourceAttributes: fc.oneof(
          fc.record({ verb: headerText, resource: headerText, namespace: headerText }),
          weird,
        ),
        namespace: weird,
        token: fc.oneof(fc.constant(saToken), headerText),
        audiences: weird,
        expirationSeconds: fc.oneof(fc.integer({ min: -10, max: 1e10 }), weird),
      },
      { requiredKeys: [] },
    ),
    weird,
  ),
});

interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}
const target = fc.oneof(
  container.map((b) => ['POST', '/apis/berth.dev/v1alpha1/namespaces/default/containers', b] as const),
  container.map((b) => ['PUT', '/apis/berth.dev/v1alpha1/namespaces/default/containers/c', b] as const),
  container.map((b) => ['PATCH', '/apis/berth.dev/v1alpha1/namespaces/default/containers/c/status', b] as const),
  secret.map((b) => ['POST', '/api/v1/namespaces/default/secrets', b] as const),
  secret.map(
    (b) => ['PATCH', `/api/v1/namespaces/default/secrets/${encodeURIComponent(String(b.metadata.name))}`, b] as const,
  ),
  namespace.map((b) => ['POST', '/api/v1/namespaces', b] as const),
  review.map((b) => ['POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', b] as const),
  review.map((b) => ['POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', b] as const),
  review.map((b) => ['POST', '/apis/authentication.k8s.io/v1/tokenreviews', b] as const),
  review.map((b) => ['POST', '/api/v1/namespaces/default/serviceaccounts/default/token', b] as const),
  fc.constantFrom('s1', 's2', 'c').map((n) => ['GET', `/api/v1/namespaces/default/secrets/${n}`, undefined] as const),
  fc.constant(['GET', '/api/v1/namespaces/default/secrets?watch=true&timeoutSeconds=1', undefined] as const),
  fc.constant(['DELETE', '/api/v1/namespaces/default/secrets/s1', undefined] as const),
);
const hostileCase: fc.Arbitrary<Case> = fc
  .tuple(
    target,
    credential,
    impersonation,
    fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  )
  .map(([[method, path, body], authorization, extra, mangle]) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    return {
      method,
      path,
      headers: { ...(authorization === '' ? {} : { Authorization: authorization }), ...extra },
      body: mangle && text !== undefined ? text.slice(0, Math.floor(text.length / 2)) : text,
    };
  });

const agent = new Agent({ keepAlive: true, maxSockets: 4 });
t.teardown(() => agent.destroy());

function send(ts: TestServer, c: Case): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(ts.url);
  return new Promise((resolve, reject) => {
    const headers = {
      ...c.headers,
      ...(c.body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(c.body)) }),
    };
    const req = httpsRequest(
      { hostname, port, path: c.path, method: c.method, headers, ca: ts.caCert, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() });
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error('timeout'));
    }, 10_000);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(c.body);
  });
}

t.test('generated hostile requests through the security layers', async (t) => {
  const cases = fc.sample(hostileCase, { seed, numRuns: runs });
  const findings: string[] = [];
  const codes = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++]!;
      const described = `${c.method} ${c.path} ${JSON.stringify(c.headers).slice(0, 300)} ${String(c.body).slice(0, 300)}`;
      try {
        const r = await send(server, c);
        codes.set(r.status, (codes.get(r.status) ?? 0) + 1);
        if (r.status >= 500) findings.push(`${r.status} ${r.text.slice(0, 200)} <- ${described}`);
        if (r.status >= 400) {
          let s: { kind?: string; code?: number } | undefined;
          try {
            s = JSON.parse(r.text) as { kind?: string; code?: number };
          } catch {
            s = undefined;
          }
          if (s?.kind !== 'Status' || s.code !== r.status)
            findings.push(`${r.status} without its Status: ${r.text.slice(0, 200)} <- ${described}`);
        }
      } catch (e) {
        findings.push(`no answer (${(e as Error).message}) <- ${described}`);
      }
    }
  };
  const started = Date.now();
  await Promise.all([worker(), worker(), worker(), worker()]);
  t.comment(
    `${cases.length} requests in ${Date.now() - started} ms (seed ${seed}): ${[...codes]
      .sort((a, b) => a[0] - b[0])
      .map(([code, n]) => `${code}×${n}`)
      .join(' ')}`,
  );
  for (const f of findings.slice(0, 20)) t.comment(f);
  t.same(findings, [], 'no 5xx, no hang, every 4xx a Status');
  t.ok((codes.get(201) ?? 0) + (codes.get(200) ?? 0) > 20, 'some requests got through to the handlers');
  t.ok((codes.get(403) ?? 0) > 0, 'some were refused by the security layers');
  t.equal((await request(server, 'GET', '/readyz')).status, 200, 'still ready');

  // The audit log: valid JSON lines, and none holds a generated Secret value.
  await server.stop();
  const audit = await readFile(auditPath, 'utf8');
  const lines = audit.split('\n').filter((l) => l !== '');
  t.ok(lines.length > 50, `${lines.length} audit events`);
  t.ok(
    lines.every((l) => (JSON.parse(l) as { kind?: string }).kind === 'Event'),
    'every line an audit Event',
  );
  t.notMatch(audit, marker, 'no Secret value in the audit log');
  const store = await LevelStore.open({ dir: join(server.dir, 'store') });
  const { items } = await store.list({ prefix: '/registry/core/secrets/' });
  await store.close();
  t.ok(items.length > 0, 'Secrets were written');
  for (const i of items) t.notMatch(i.value, marker, `${i.key} holds no plaintext`);
});
