// Every request names the agent in its User-Agent, and every write carries fieldManager=berth-node-agent.
import t from 'tap';
import { HttpMethod, RequestContext } from '@kubernetes/client-node';
import { fieldManager, userAgent, writerIdentity } from '../../src/cluster/writer-identity.js';

t.test('the user agent says berth-node-agent, its version without a v, and os/arch as kubectl does', async (t) => {
  t.equal(userAgent('v0.1.0', 'linux', 'amd64'), 'berth-node-agent/0.1.0 (linux/amd64)');
});

t.test(
  'writes get fieldManager and the user agent; reads only the user agent; a given fieldManager is kept',
  async (t) => {
    const mw = writerIdentity('berth-node-agent/0.1.0 (linux/amd64)');
    for (const method of [HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH]) {
      const ctx = await mw.pre(
        new RequestContext(
          'https://127.0.0.1:6443/apis/berth.dev/v1alpha1/namespaces/default/containers/x/status',
          method,
        ),
      );
      t.equal(new URL(ctx.getUrl()).searchParams.get('fieldManager'), fieldManager, `${method} carries fieldManager`);
      t.equal(ctx.getHeaders()['User-Agent'], 'berth-node-agent/0.1.0 (linux/amd64)');
    }
    const get = await mw.pre(
      new RequestContext('https://127.0.0.1:6443/api/v1/namespaces/default/secrets/s', HttpMethod.GET),
    );
    t.notOk(new URL(get.getUrl()).searchParams.has('fieldManager'), 'a GET has none');
    t.equal(get.getHeaders()['User-Agent'], 'berth-node-agent/0.1.0 (linux/amd64)');
    const given = await mw.pre(
      new RequestContext('https://127.0.0.1:6443/api/v1/namespaces/default/events?fieldManager=other', HttpMethod.POST),
    );
    t.same(new URL(given.getUrl()).searchParams.getAll('fieldManager'), ['other']);
  },
);
