// Admission as a client sees it: mutating plugins change what is stored, validating plugins see the mutated
// object with the request's user and may refuse (the Status is theirs) or warn (a Warning header), on create,
// update and delete alike, dry runs included.

import t from 'tap';
import type { Admission, AdmissionAttributes } from '@berth/apiserver';
import { ApiError } from '../../src/errors/api-error.js';
import { request, startTestServer, type TestServer } from '@berth/testkit';

const seen: string[] = [];
const describe = (stage: string, a: AdmissionAttributes) =>
  `${stage} ${a.operation} ${a.resource.plural}/${a.name} user=${a.user?.name ?? '-'} dryRun=${a.dryRun} label=${a.object.metadata.labels?.['admitted'] ?? '-'} old=${a.oldObject === undefined ? '-' : 'yes'}`;

const admission: Admission = {
  mutating: [
    {
      name: 'label',
      admit(a) {
        if (a.resource.plural !== 'configmaps') return;
        seen.push(describe('mutating', a));
        a.object.metadata.labels = { ...a.object.metadata.labels, admitted: 'yes' };
        return ['labelled by admission'];
      },
    },
  ],
  validating: [
    {
      name: 'no-forbidden-key',
      validate(a) {
        if (a.resource.plural !== 'configmaps') return;
        seen.push(describe('validating', a));
        const data = a.object['data'] as Record<string, string> | undefined;
        if (a.operation !== 'DELETE' && data?.['forbidden'] !== undefined) {
          throw new ApiError(
            'Forbidden',
            'admission plugin "no-forbidden-key" denied the request: key "forbidden" is not allowed',
          );
        }
        if (a.operation === 'DELETE' && a.object.metadata.name === 'keep')
          throw new ApiError('Forbidden', 'admission plugin "no-forbidden-key" denied the request: keep stays');
        return undefined;
      },
    },
  ],
};

let ts: TestServer;
t.before(async () => {
  ts = await startTestServer({ admission });
});
t.teardown(() => ts.close());

const path = '/api/v1/namespaces/default/configmaps';
const post = (body: unknown, query = '') =>
  request(ts, 'POST', `${path}${query}`, { body: JSON.stringify(body), contentType: 'application/json' });

t.test('create: mutating, then validating on the mutated object; the warning reaches the client', async (t) => {
  seen.length = 0;
  const res = await post({ metadata: { name: 'a' }, data: { k: 'v' } });
  t.equal(res.status, 201);
  t.same(
    res.json<{ metadata: { labels: Record<string, string> } }>().metadata.labels,
    { admitted: 'yes' },
    'the mutation is stored',
  );
  t.equal(res.headers['warning'], '299 - "labelled by admission"');
  t.same(seen, [
    'mutating CREATE configmaps/a user=admin dryRun=false label=- old=-',
    'validating CREATE configmaps/a user=admin dryRun=false label=yes old=-',
  ]);
  const stored = await request(ts, 'GET', `${path}/a`);
  t.equal(stored.json<{ metadata: { labels: Record<string, string> } }>().metadata.labels['admitted'], 'yes');
});

t.test("a validating refusal is the plugin's Status and nothing is stored", async (t) => {
  const res = await post({ metadata: { name: 'b' }, data: { forbidden: 'x' } });
  t.equal(res.status, 403);
  t.match(res.json(), {
    kind: 'Status',
    reason: 'Forbidden',
    message: 'admission plugin "no-forbidden-key" denied the request: key "forbidden" is not allowed',
  });
  t.equal((await request(ts, 'GET', `${path}/b`)).status, 404);
});

t.test('update and dry run: plugins see the old object and the dry-run flag', async (t) => {
  seen.length = 0;
  const res = await request(ts, 'PATCH', `${path}/a?dryRun=All`, {
    body: JSON.stringify({ data: { k: 'w' } }),
    contentType: 'application/merge-patch+json',
  });
  t.equal(res.status, 200);
  t.same(seen, [
    'mutating UPDATE configmaps/a user=admin dryRun=true label=yes old=yes',
    'validating UPDATE configmaps/a user=admin dryRun=true label=yes old=yes',
  ]);
  const refused = await request(ts, 'PATCH', `${path}/a`, {
    body: JSON.stringify({ data: { forbidden: 'y' } }),
    contentType: 'application/merge-patch+json',
  });
  t.equal(refused.status, 403);
  t.same(
    (await request(ts, 'GET', `${path}/a`)).json<{ data: unknown }>().data,
    { k: 'v' },
    'neither write changed the object',
  );
});

t.test('delete passes validating admission', async (t) => {
  t.equal((await post({ metadata: { name: 'keep' } })).status, 201);
  seen.length = 0;
  const refused = await request(ts, 'DELETE', `${path}/keep`);
  t.equal(refused.status, 403);
  t.match(refused.json(), { message: 'admission plugin "no-forbidden-key" denied the request: keep stays' });
  t.same(seen, ['validating DELETE configmaps/keep user=admin dryRun=false label=yes old=-']);
  t.equal((await request(ts, 'GET', `${path}/keep`)).status, 200, 'still there');
  t.equal((await request(ts, 'DELETE', `${path}/a`)).status, 200);
  t.equal((await request(ts, 'GET', `${path}/a`)).status, 404);
});
