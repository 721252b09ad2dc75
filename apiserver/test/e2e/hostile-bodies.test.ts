// Bad bodies and bad requests are 4xx Statuses, answered promptly: deep nesting, invalid UTF-8, oversized bodies
// (413 at once, the rest read and dropped so the client sees it), CONNECT, requests Node's parser refuses, and media types that are not served.

import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { request, startTestServer, type TestServer } from '@berth/testkit';
import { rawExchange, rawRequest, statusOf } from './raw-client.js';

const cms = '/api/v1/namespaces/default/configmaps';
const containers = '/apis/berth.dev/v1alpha1/namespaces/default/containers';

/**
 * Sends `chunks` × 64 KiB as a chunked body (no Content-Length), each chunk once the last is taken; resolves with
 * the answer and how many chunks had been handed to the socket when it came.
 */
function chunkedUpload(
  ts: TestServer,
  path: string,
  chunks: number,
): Promise<{ status: number; text: string; sentWhenAnswered: number }> {
  const { hostname, port } = new URL(ts.url);
  const chunk = Buffer.alloc(64 * 1024, 'a');
  let sent = 0;
  let answered = false;
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        hostname,
        port,
        path,
        method: 'POST',
        headers: { Authorization: `Bearer ${ts.token}`, 'Content-Type': 'application/json' },
        ca: ts.caCert,
        agent: false,
      },
      (res) => {
        answered = true;
        const sentWhenAnswered = sent;
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          clearTimeout(timer);
          req.destroy();
          resolve({ status: res.statusCode ?? 0, text, sentWhenAnswered });
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error('no answer in 30 s'));
    }, 30_000);
    // The server stops reading once it has answered: writes after that fail, which is fine.
    req.on('error', () => undefined);
    const pump = (): void => {
      while (!answered && sent < chunks) {
        sent++;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    pump();
  });
}

t.test('hostile bodies and requests', async (t) => {
  const ts = await startTestServer();
  t.teardown(() => ts.close());
  await request(ts, 'POST', cms, {
    body: JSON.stringify({ metadata: { name: 'keep' }, data: { a: 'b' } }),
    contentType: 'application/json',
  });

  t.test('deep nesting is a 400, at every write verb and in YAML', async (t) => {
    for (const depth of [1001, 5000, 20_000, 200_000]) {
      const deep = '['.repeat(depth) + ']'.repeat(depth);
      const nested = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      const attempts: [string, string, string, string][] = [
        ['POST', cms, `{"metadata":{"name":"d"},"data":{"x":${deep}}}`, 'application/json'],
        ['POST', cms, `{"metadata":{"name":"d","labels":${deep}}}`, 'application/json'],
        ['PUT', `${cms}/keep`, `{"metadata":{"name":"keep"},"x":${nested}}`, 'application/json'],
        ['PATCH', `${cms}/keep`, `{"x":${nested}}`, 'application/merge-patch+json'],
        ['PATCH', `${cms}/keep`, `{"x":${nested}}`, 'application/strategic-merge-patch+json'],
        ['PATCH', `${cms}/keep`, `[{"op":"add","path":"/x","value":${nested}}]`, 'application/json-patch+json'],
        [
          'PATCH',
          `${cms}/keep?fieldManager=t`,
          `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"keep"},"x":${nested}}`,
          'application/apply-patch+yaml',
        ],
        ['PATCH', `${cms}/keep?fieldManager=t`, `x: ${deep}\n`, 'application/apply-patch+yaml'],
        ['POST', cms, `metadata: {name: d}\ndata: {x: ${deep}}\n`, 'application/yaml'],
        ['DELETE', `${cms}/keep`, `{"preconditions":${nested}}`, 'application/json'],
      ];
      for (const [method, path, body, contentType] of attempts) {
        const r = await rawRequest(ts, method, path, { body, contentType });
        const s = statusOf(r.text);
        t.equal(r.status, 400, `${method} ${contentType} depth ${depth}: ${r.status} ${r.text.slice(0, 160)}`);
        t.equal(s?.kind, 'Status');
        t.match(s?.message ?? '', /exceeded max depth|error decoding/);
      }
    }
    // YAML aliases can make a cycle out of a short document: it nests without end.
    for (const cycle of ['metadata: {name: c}\ndata: &x [*x]\n', 'metadata: {name: c}\nx: &x {a: *x}\n']) {
      const r = await rawRequest(ts, 'POST', cms, { body: cycle, contentType: 'application/yaml' });
      t.equal(r.status, 400, `${JSON.stringify(cycle)}: ${r.text.slice(0, 200)}`);
      const a = await rawRequest(ts, 'PATCH', `${cms}/keep?fieldManager=t`, {
        body: cycle.replace('{name: c}', '{name: keep}'),
        contentType: 'application/apply-patch+yaml',
      });
      t.equal(a.status, 400, `apply ${JSON.stringify(cycle)}: ${a.text.slice(0, 200)}`);
    }
    const ok = `{"metadata":{"name":"shallow"},"data":{"k":"v"},"x":${'['.repeat(999)}${']'.repeat(999)}}`;
    t.equal(
      (await rawRequest(ts, 'POST', cms, { body: ok, contentType: 'application/json' })).status,
      201,
      '999 levels are fine',
    );
  });

  t.test('invalid UTF-8 reads as U+FFFD, as Go does', async (t) => {
    const body = Buffer.concat([
      Buffer.from('{"metadata":{"name":"utf"},"data":{"k":"'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('"}}'),
    ]);
    const r = await rawRequest(ts, 'POST', cms, { body, contentType: 'application/json' });
    t.equal(r.status, 201, r.text);
    t.equal(JSON.parse(r.text).data.k, '\ufffd\ufffd\ufffd');
    const badName = Buffer.concat([Buffer.from('{"metadata":{"name":"'), Buffer.from([0xff]), Buffer.from('"}}')]);
    const n = await rawRequest(ts, 'POST', cms, { body: badName, contentType: 'application/json' });
    t.equal(n.status, 422, n.text);
  });

  t.test('an oversized body gets its 413 promptly; a client that keeps sending is cut off', async (t) => {
    for (const chunks of [49, 60, 200, 800]) {
      const r = await chunkedUpload(ts, cms, chunks);
      t.equal(r.status, 413, `${chunks} × 64 KiB chunked`);
      t.equal(statusOf(r.text)?.reason, 'RequestEntityTooLarge');
      // Not a timing: the answer comes once the limit is read, long before a 50 MB body is all sent.
      if (chunks === 800) t.ok(r.sentWhenAnswered < chunks, `answered after ${r.sentWhenAnswered} of ${chunks} chunks`);
    }
    // The client declares 100 MB and sends a few bytes: the 413 comes at once, and the server does not wait forever.
    const head = `POST ${cms} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ts.token}\r\nContent-Type: application/json\r\nContent-Length: 99999999\r\n\r\n{"a":`;
    const declared = await rawExchange(ts, head, 10_000, /"code":413\}/);
    t.match(declared, /^HTTP\/1\.1 413 /, 'the 413 comes before the body, which is never sent');
    t.match(declared, /"reason":"RequestEntityTooLarge"/);
    const stalled = await rawExchange(ts, head, 15_000);
    t.match(stalled, /^HTTP\/1\.1 413 /, 'a client that never finishes its body is disconnected');
    const r = await rawRequest(ts, 'POST', cms, {
      body: Buffer.alloc(3 * 1024 * 1024 + 1, 'a'),
      contentType: 'application/json',
    });
    t.equal(r.status, 413);
    const ok = await request(ts, 'GET', `${cms}/keep`);
    t.equal(ok.status, 200, 'the server still answers');
    // What a user sees: kubectl create of a 4 MiB ConfigMap gets the server's 413 (not a timeout or a reset).
    const file = join(ts.dir, 'big.txt');
    await writeFile(file, 'x'.repeat(4 * 1024 * 1024));
    const k = await ts.kubectl(['create', 'configmap', 'big', `--from-file=${file}`]);
    t.not(k.code, 0);
    t.match(k.stderr, /Request entity too large: limit is 3145728/);
  });

  t.test('CONNECT and unparseable requests get a Status', async (t) => {
    const connect = await rawExchange(
      ts,
      `CONNECT ${cms} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ts.token}\r\n\r\n`,
    );
    t.match(connect, /^HTTP\/1\.1 405 /);
    t.match(connect, /"kind":"Status"/);
    t.match(connect, /"reason":"MethodNotAllowed"/);
    const garbage = await rawExchange(ts, 'NOT HTTP AT ALL\r\n\r\n');
    t.match(garbage, /^HTTP\/1\.1 400 /);
    t.match(garbage, /"kind":"Status"/);
    for (const headers of [
      'Content-Length: 2\r\nContent-Length: 3',
      'Content-Length: 2\r\nTransfer-Encoding: chunked',
      'Content-Length: -1',
      'X-Bad\u0001: y',
    ]) {
      const r = await rawExchange(
        ts,
        `POST ${cms} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ts.token}\r\n${headers}\r\n\r\n{}`,
      );
      t.match(r, /^HTTP\/1\.1 400 /, JSON.stringify(headers));
      t.match(r, /"kind":"Status"/);
    }
    const badChunk = await rawExchange(
      ts,
      `POST ${cms} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ts.token}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
    );
    t.match(badChunk, /^HTTP\/1\.1 400 /);
    t.match(badChunk, /"kind":"Status"/);
    // What Node's own client sends for a DELETE with a body and no length: the body reads as the next request.
    const del = await request(ts, 'DELETE', `${cms}/nothere`, { body: '[1]', contentType: 'application/json' });
    t.equal(del.status, 400);
    t.equal(del.json().kind, 'Status');
    const framed = await rawRequest(ts, 'DELETE', `${cms}/keep`, { body: '[1]', contentType: 'application/json' });
    t.equal(framed.status, 400);
    t.equal(statusOf(framed.text)?.kind, 'Status');
    t.equal((await request(ts, 'GET', `${cms}/keep`)).status, 200, 'a refused DELETE deleted nothing');
  });

  t.test('media types that are not served are a 415', async (t) => {
    const cm = JSON.stringify({ metadata: { name: 'mt' } });
    for (const type of ['application/xml', 'text/plain', 'application/cbor']) {
      const r = await rawRequest(ts, 'POST', cms, { body: cm, contentType: type });
      t.equal(r.status, 415, `${type}: ${r.text}`);
      t.equal(statusOf(r.text)?.reason, 'UnsupportedMediaType');
      t.match(
        statusOf(r.text)?.message ?? '',
        'accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf',
      );
    }
    const ctr = JSON.stringify({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Container',
      metadata: { name: 'pb' },
      spec: { image: 'busybox' },
    });
    const pb = await rawRequest(ts, 'POST', containers, {
      body: ctr,
      contentType: 'application/vnd.kubernetes.protobuf',
    });
    t.equal(pb.status, 415, 'custom resources are not served as protobuf');
    t.match(statusOf(pb.text)?.message ?? '', /accepted media types include: application\/json, application\/yaml$/);
    const put = await rawRequest(ts, 'PUT', `${cms}/keep`, { body: cm, contentType: 'application/xml' });
    t.equal(put.status, 415);
    const yaml = await rawRequest(ts, 'POST', containers, {
      body: 'apiVersion: berth.dev/v1alpha1\nkind: Container\nmetadata: {name: y}\nspec: {image: busybox}\n',
      contentType: 'application/yaml',
    });
    t.equal(yaml.status, 201, 'YAML is served');
  });
});
