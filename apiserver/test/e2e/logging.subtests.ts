// The API server logs through the pino logger it is given: an unexpected failure is answered as a bare 500
// (no internals) and logged once as a JSON line at level error, with the error and the request it broke.

import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { createLogger, InvalidArgumentError } from '@berth/apiserver';
import { request, startTestServer } from '@berth/testkit';

t.test('an internal error is a bare 500 for the client and a JSON error line in the log', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'warn' }, sink);
  const ts = await startTestServer({
    logger,
    // A plugin with a bug: its plain Error is not an ApiError, so the server must not repeat it to the client.
    admission: {
      mutating: [],
      validating: [
        {
          name: 'buggy',
          validate: (a) => {
            if (a.resource.plural === 'configmaps') throw new Error('secret detail /var/lib/berth');
          },
        },
      ],
    },
  });
  t.teardown(() => ts.close());
  const res = await request(ts, 'POST', '/api/v1/namespaces/default/configmaps', {
    body: JSON.stringify({ metadata: { name: 'x' } }),
    contentType: 'application/json',
  });
  t.equal(res.status, 500);
  t.same(res.json(), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    reason: 'InternalError',
    code: 500,
    message: 'Internal error occurred: an error on the server prevented the request from succeeding',
  });
  t.notMatch(res.text, /secret detail/);
  const errors = lines.filter((l) => l['level'] === 50);
  t.equal(errors.length, 1, 'logged once');
  t.match(errors[0], {
    msg: 'internal error',
    verb: 'create',
    path: '/api/v1/namespaces/default/configmaps',
    user: 'admin',
    err: { message: 'secret detail /var/lib/berth' },
  });
});

t.test('createLogger refuses an unknown level before writing anything', async (t) => {
  t.throws(() => createLogger({ level: 'loud' }), InvalidArgumentError);
  t.equal(createLogger({ level: 'debug' }).level, 'debug');
  t.equal(createLogger({ level: 'silent' }).level, 'silent');
});
