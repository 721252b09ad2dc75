// The route table's path patterns: `:name` takes one segment, a final `*` the rest (at least one segment), and
// anything else must match exactly, segment for segment.

import t from 'tap';
import { matchPath } from '../../src/request-chain/router.js';
import { readRequestInfo } from '../../src/request-chain/request-info.js';

t.test('path patterns', async (t) => {
  t.same(matchPath('/version', '/version'), {});
  t.equal(matchPath('/version', '/version/x'), undefined);
  t.equal(matchPath('/version', '/'), undefined);
  t.same(matchPath('/apis/:group/:version', '/apis/berth.dev/v1alpha1'), { group: 'berth.dev', version: 'v1alpha1' });
  t.equal(matchPath('/apis/:group/:version', '/apis/berth.dev'), undefined);
  t.equal(matchPath('/apis/:group', '/apis/berth.dev/v1alpha1'), undefined);
  t.same(matchPath('/openapi/v3/*', '/openapi/v3/apis/berth.dev/v1alpha1'), { '*': 'apis/berth.dev/v1alpha1' });
  t.equal(matchPath('/openapi/v3/*', '/openapi/v3'), undefined, 'the rest is at least one segment');
});

t.test('request info is read once: path without trailing slashes, resource or not, the verb', async (t) => {
  t.match(readRequestInfo('GET', '/api/v1/namespaces/default/configmaps/?watch=true'), {
    path: '/api/v1/namespaces/default/configmaps',
    verb: 'watch',
    resource: { group: '', version: 'v1', namespace: 'default', resource: 'configmaps', verb: 'watch' },
  });
  t.match(readRequestInfo('POST', '/version'), { path: '/version', verb: 'post', resource: undefined });
  t.match(
    readRequestInfo('GET', '/apis/berth.dev/v1alpha1'),
    { resource: undefined, verb: 'get' },
    'a group version is discovery, not a resource',
  );
  t.match(
    readRequestInfo('GET', '/openapi/v3/%zz'),
    { resource: undefined },
    'non-resource paths are not decoded as resource segments',
  );
  t.throws(() => readRequestInfo('GET', '/api/v1/namespaces/%zz/pods'), { code: 'BERTH_API_BAD_REQUEST' });
  t.same(readRequestInfo('GET', '/').path, '/');
});
