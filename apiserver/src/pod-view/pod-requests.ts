// Serves `/api/v1/…/pods` from Containers, the source of truth: reads project each Container into a Pod (a watch
// of Pods is a watch of Containers, so its resourceVersions resume), writes turn the Pod back into the Container
// write it means, and `log` is relayed to the node agent as a Container's. Nothing here is stored as a Pod.

import {
  ApiError,
  alreadyExists,
  badRequest,
  invalid,
  methodNotAllowed,
  notFound,
  pathNotFound,
  staleResourceVersion,
} from '../errors/api-error.js';
import { decodeBody, decodeObjectBody, mediaType, readBody } from '../http/body.js';
import { dropsManagedFields, includeObject, intParam, wantsTable } from '../http/negotiation.js';
import type { ObjectScope } from '../objects/object-store.js';
import { isPlainObject, type KubeObject } from '../objects/object.js';
import { buildFilter, type ObjectFilter } from '../objects/selectors.js';
import { parseDeletePropagation } from '../objects/deletion.js';
import { applyJsonPatch } from '../patch/json-patch.js';
import { applyMergePatch } from '../patch/merge-patch.js';
import type { JsonValue } from '../patch/json-value.js';
import { collectionPrefix, groupVersion, type Resource } from '../registry/resource.js';
import type { Reply } from '../request-chain/reply.js';
import { toTable } from '../table/table.js';
import { serveWatch } from '../watch/watch-stream.js';
import { relayRequest, resolveAgent } from '../handlers/node-proxy.js';
import {
  asObject,
  bind,
  deleteOptions,
  successStatus,
  unsupportedPatch,
  writeOptions,
  type ResourceCall,
  type ResourceHandlerDeps,
} from '../handlers/resources.js';
import { applyPod } from './pod-apply.js';
import { containerGroup, containerPlural } from './pod-authorization.js';
import { containerToPod, podContainerName } from './pod-projection.js';
import { podStatusWriteToContainer } from './pod-status-write.js';
import { podToContainer, podWriteToContainer, unsupported } from './pod-to-container.js';

/** Whether a resource request is about Pods (served here, not by the generic handler). */
export const isPodRequest = (r: { group: string; resource: string }): boolean =>
  r.group === '' && r.resource === 'pods';

interface PodScopes {
  readonly pods: Resource;
  readonly containers: ObjectScope;
}

/**
 * A refusal of the Container worded as Kubernetes words it for a Pod: `pods "x" is forbidden: …` (Pod Security,
 * quota, NodeRestriction) and `Pod "x" is invalid: …` (validation).
 */
function asPodError(e: ApiError): ApiError | undefined {
  const d = e.details;
  if (d?.group !== 'berth.dev' || (d.kind !== 'containers' && d.kind !== 'Container')) return undefined;
  const forbiddenWords = /^containers\.berth\.dev ("[^"]*" )?is forbidden: /;
  const invalidWords = /^Container\.berth\.dev ("[^"]*" )?is invalid: /;
  if (e.reason === 'Forbidden' && forbiddenWords.test(e.message))
    return new ApiError(
      e.reason,
      e.message.replace(forbiddenWords, (_m, n: string | undefined) => `pods ${n ?? ''}is forbidden: `),
      { ...d, group: '', kind: 'pods' },
    );
  if (e.reason === 'Invalid' && invalidWords.test(e.message))
    return new ApiError(
      e.reason,
      e.message.replace(invalidWords, (_m, n: string | undefined) => `Pod ${n ?? ''}is invalid: `),
      { ...d, group: '', kind: 'Pod' },
    );
  return undefined;
}

/** Container errors named as the Pod the client asked about. */
async function asPod<T>(name: string | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (ApiError.isInstance(e) && name !== undefined) {
      const pods = { group: '', plural: 'pods' };
      if (e.reason === 'NotFound') throw notFound(pods, name);
      if (e.reason === 'AlreadyExists') throw alreadyExists(pods, name);
      if (e.reason === 'Conflict' && e.message.includes(': the object has been modified'))
        throw staleResourceVersion(pods, name);
      const renamed = asPodError(e);
      if (renamed !== undefined) throw renamed;
    }
    throw e;
  }
}

export async function servePods(deps: ResourceHandlerDeps, call: ResourceCall): Promise<Reply | undefined> {
  const { info, req, res, query, signal } = call;
  const pods = deps.registry.get('', 'v1', 'pods');
  const containerResource = deps.registry.anyVersion(containerGroup, containerPlural);
  if (pods === undefined || containerResource === undefined || info.version !== 'v1') throw pathNotFound();
  const scopes: PodScopes = { pods, containers: { resource: containerResource, namespace: info.namespace } };
  const { containers } = scopes;
  const name = info.name;
  if (info.namespace === undefined && !['list', 'watch'].includes(info.verb)) throw pathNotFound();
  const sub = info.subresource;
  const table = wantsTable(req.headers.accept);

  if (sub === 'log') {
    if (info.verb !== 'get') throw methodNotAllowed(req.method ?? '', 'pods/log');
    // The Pod's one container is named as the Pod; any other name is the client's mistake, as on Kubernetes.
    const asked = query.get('container');
    if (asked !== null && asked !== '') {
      const own = podContainerName(await asPod(name, () => deps.objects.get(containers, name ?? '')));
      if (asked !== own) throw new ApiError('BadRequest', `container ${asked} is not valid for pod ${name ?? ''}`);
    }
    const target = await asPod(name, () =>
      resolveAgent(
        deps.objects,
        deps.registry,
        containerGroup,
        containerResource.version,
        info.namespace ?? '',
        name ?? '',
        'log',
        query.toString(),
      ),
    );
    await relayRequest(target, req, res, signal);
    return undefined;
  }
  if (sub === 'exec' || sub === 'attach' || sub === 'portforward')
    throw new ApiError('BadRequest', `${sub} requires a connection upgrade (WebSocket or SPDY)`);
  if (sub === 'eviction') {
    if (info.verb !== 'create') throw methodNotAllowed(req.method ?? '', 'pods/eviction');
    return evict(deps, call, scopes);
  }
  if (sub === 'binding') {
    if (info.verb !== 'create') throw methodNotAllowed(req.method ?? '', 'pods/binding');
    return bind(deps, containers, call, pods);
  }
  if (sub === 'ephemeralcontainers') {
    if (info.verb === 'get')
      return { status: 200, body: containerToPod(await asPod(name, () => deps.objects.get(containers, name!))) };
    if (info.verb !== 'update' && info.verb !== 'patch')
      throw methodNotAllowed(req.method ?? '', 'pods/ephemeralcontainers');
    await asPod(name, () => deps.objects.get(containers, name!));
    throw invalid('Pod', '', name ?? '', [
      unsupported('spec.ephemeralContainers', 'ephemeral containers (`kubectl debug`); use `kubectl exec`'),
    ]);
  }
  if (sub === 'status') {
    if (info.verb === 'patch' && mediaType(req.headers['content-type']) === 'application/apply-patch+yaml')
      return applyPod(deps, call, containers, name!, 'status');
    if (info.verb === 'update' || info.verb === 'patch') return writePodStatus(deps, call, scopes, name!);
    if (info.verb !== 'get') throw methodNotAllowed(req.method ?? '', 'pods/status');
  } else if (sub !== undefined) throw pathNotFound();

  switch (info.verb) {
    case 'get': {
      const pod = containerToPod(await asPod(name, () => deps.objects.get(containers, name!)));
      const rv = { resourceVersion: pod.metadata.resourceVersion ?? '' };
      return { status: 200, body: table ? toTable(pods, [pod], includeObject(query), rv) : pod };
    }
    case 'list': {
      const filter = podFilter(pods, query);
      const limit = intParam(query, 'limit');
      const result = await deps.objects.list(containers, {
        ...(filter === undefined ? {} : { filter }),
        ...(limit === undefined ? {} : { limit }),
        ...(query.get('continue') ? { continueToken: query.get('continue')! } : {}),
      });
      const items = result.items.map(containerToPod);
      const meta = {
        resourceVersion: String(result.revision),
        ...(result.continueToken === undefined ? {} : { continue: result.continueToken }),
      };
      if (table) return { status: 200, body: toTable(pods, items, includeObject(query), meta) };
      return { status: 200, body: { apiVersion: 'v1', kind: 'PodList', metadata: meta, items } };
    }
    case 'watch': {
      const selected = podFilter(pods, query);
      const filter: ObjectFilter | undefined =
        name === undefined ? selected : (c) => c.metadata.name === name && (selected?.(c) ?? true);
      await serveWatch(
        res,
        {
          resource: pods,
          prefix: collectionPrefix(containerResource, info.namespace),
          filter,
          project: containerToPod,
          resourceVersion: query.get('resourceVersion') ?? undefined,
          initialState: () => deps.objects.list(containers, filter === undefined ? {} : { filter }),
          bookmarks: query.get('allowWatchBookmarks') === 'true',
          bookmarkIntervalMs: deps.bookmarkIntervalMs,
          sendInitialEvents: query.get('sendInitialEvents') === 'true',
          timeoutSeconds: intParam(query, 'timeoutSeconds'),
          table: table ? { include: includeObject(query) } : undefined,
          dropManagedFields: dropsManagedFields(req.headers.accept),
          signal,
        },
        deps.watchSource,
      );
      return undefined;
    }
    case 'create': {
      if (name !== undefined) throw methodNotAllowed('POST', `pods/${name}`);
      const pod = asObject(decodeObjectBody(await readBody(req), req.headers['content-type'], true));
      const container = podToContainer(pod, groupVersion(containerResource));
      const options = writeOptions(deps, call, containerResource, 'main');
      const podName = typeof pod.metadata?.name === 'string' ? pod.metadata.name : undefined;
      const created = await asPod(podName, () => deps.objects.create(containers, container, options));
      return { status: 201, body: containerToPod(created), warnings: options.warnings };
    }
    case 'update': {
      if (name === undefined) throw methodNotAllowed(req.method ?? '', 'pods');
      const written = asObject(decodeObjectBody(await readBody(req), req.headers['content-type'], true));
      return writePod(deps, call, scopes, name, () => written);
    }
    case 'patch': {
      if (name === undefined) throw methodNotAllowed(req.method ?? '', 'pods');
      if (mediaType(req.headers['content-type']) === 'application/apply-patch+yaml')
        return applyPod(deps, call, containers, name);
      const change = await podPatch(deps, call, pods);
      return writePod(deps, call, scopes, name, change);
    }
    case 'delete': {
      const options = { ...(await deleteOptions(req, query)), user: call.user, warnings: [] as string[] };
      const { object, gone } = await asPod(name, () => deps.objects.delete(containers, name!, options));
      const pod = containerToPod(object);
      if (!gone) return { status: 200, body: pod, warnings: options.warnings };
      return { status: 200, body: successStatus(pods, pod), warnings: options.warnings };
    }
    case 'deletecollection': {
      const { preconditions: _, ...options } = await deleteOptions(req, query);
      const filter = podFilter(pods, query);
      const { items, revision } = await deps.objects.list(containers, filter === undefined ? {} : { filter });
      const deleted: KubeObject[] = [];
      for (const item of items) {
        try {
          const scope = { resource: containerResource, namespace: item.metadata.namespace };
          const { object } = await deps.objects.delete(scope, item.metadata.name ?? '', {
            ...options,
            user: call.user,
          });
          deleted.push(containerToPod(object));
        } catch (e) {
          if (!(ApiError.isInstance(e) && e.reason === 'NotFound')) throw e;
        }
      }
      return {
        status: 200,
        body: { apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: String(revision) }, items: deleted },
      };
    }
  }
}

/** The label and field selectors of a Pods request, as a filter over the Containers they project from. */
function podFilter(pods: Resource, query: URLSearchParams): ObjectFilter | undefined {
  const onPods = buildFilter(pods, query.get('labelSelector') ?? undefined, query.get('fieldSelector') ?? undefined);
  return onPods === undefined ? undefined : (container) => onPods(containerToPod(container));
}

const patchTypes = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];

/** A patch request's body as a change of the Pod (json, merge, strategic merge: the three kubectl patch sends). */
async function podPatch(
  deps: ResourceHandlerDeps,
  call: ResourceCall,
  pods: Resource,
): Promise<(pod: KubeObject) => KubeObject> {
  const { req } = call;
  const type = mediaType(req.headers['content-type']);
  if (!patchTypes.slice(0, 3).includes(type)) throw unsupportedPatch(patchTypes.join(', '));
  const body = decodeBody(await readBody(req), req.headers['content-type']);
  return (pod) => {
    if (type === 'application/json-patch+json') return asObject(applyJsonPatch(pod as unknown as JsonValue, body));
    if (type === 'application/strategic-merge-patch+json') return asObject(deps.fields.strategicMerge(pods, pod, body));
    if (!isPlainObject(body)) throw new ApiError('BadRequest', 'the body of a merge patch must be a JSON object');
    return asObject(applyMergePatch(pod as unknown as JsonValue, body as JsonValue));
  };
}

/** A write of pods/NAME/status: the client's own conditions kept on the Container's status (pod-status-write.ts). */
async function writePodStatus(
  deps: ResourceHandlerDeps,
  call: ResourceCall,
  scopes: PodScopes,
  name: string,
): Promise<Reply> {
  const { info, req } = call;
  const change =
    info.verb === 'patch'
      ? await podPatch(deps, call, scopes.pods)
      : (
          (written: KubeObject) => () =>
            written
        )(asObject(decodeObjectBody(await readBody(req), req.headers['content-type'], true)));
  const options = writeOptions(deps, call, scopes.containers.resource, 'status');
  const { object } = await asPod(name, () =>
    deps.objects.update(
      scopes.containers,
      name,
      'status',
      (current) => podStatusWriteToContainer(current, change(containerToPod(current))),
      options,
    ),
  );
  return { status: 200, body: containerToPod(object), warnings: options.warnings };
}

/** An update or patch of a Pod: computed on the Pod the Container projects, carried back onto the Container. */
async function writePod(
  deps: ResourceHandlerDeps,
  call: ResourceCall,
  scopes: PodScopes,
  name: string,
  change: (pod: KubeObject) => KubeObject,
): Promise<Reply> {
  const options = writeOptions(deps, call, scopes.containers.resource, 'main');
  const { object } = await asPod(name, () =>
    deps.objects.update(
      scopes.containers,
      name,
      'main',
      (current) => podWriteToContainer(current, change(containerToPod(current))),
      options,
    ),
  );
  return { status: 200, body: containerToPod(object), warnings: options.warnings };
}

/** The body of an eviction is a policy/v1 Eviction of this Pod, or a 400 as Kubernetes' eviction REST answers. */
function checkEviction(body: unknown, name: string, namespace: string): Record<string, unknown> {
  const kind = isPlainObject(body) ? body['kind'] : undefined;
  if (!isPlainObject(body) || typeof kind !== 'string' || kind === '')
    throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body ?? '').slice(0, 200)}'`);
  const apiVersion = typeof body['apiVersion'] === 'string' ? body['apiVersion'] : '';
  if (apiVersion !== 'policy/v1' && apiVersion !== 'policy/v1beta1')
    throw badRequest(`the API version in the data (${apiVersion}) does not match the expected API version (policy/v1)`);
  if (kind !== 'Eviction') throw badRequest(`not a Eviction object: *policy.${kind}`);
  const meta = isPlainObject(body['metadata']) ? body['metadata'] : {};
  if (meta['name'] !== name) throw badRequest('name in URL does not match name in Eviction object');
  if (meta['namespace'] !== undefined && meta['namespace'] !== '' && meta['namespace'] !== namespace)
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  const options = body['deleteOptions'];
  if (options !== undefined && options !== null && !isPlainObject(options))
    throw badRequest(
      'Eviction in version "v1" cannot be handled as a Eviction: json: cannot unmarshal into Go struct field Eviction.deleteOptions of type v1.DeleteOptions',
    );
  return body;
}

/**
 * POST …/pods/NAME/eviction (policy/v1 Eviction): berth has no disruption budgets, so an eviction is the delete of
 * the Container with the Eviction's DeleteOptions; answered as Kubernetes answers a granted one.
 */
async function evict(deps: ResourceHandlerDeps, call: ResourceCall, scopes: PodScopes): Promise<Reply> {
  const { info, req, query } = call;
  const raw = await readBody(req);
  const eviction = checkEviction(
    raw.length === 0 ? undefined : decodeBody(raw, req.headers['content-type']),
    info.name ?? '',
    info.namespace ?? '',
  );
  const options = isPlainObject(eviction['deleteOptions']) ? eviction['deleteOptions'] : {};
  const pre = isPlainObject(options['preconditions']) ? options['preconditions'] : {};
  const dryRun = Array.isArray(options['dryRun']) && options['dryRun'].includes('All');
  await asPod(info.name, () =>
    deps.objects.delete(scopes.containers, info.name!, {
      ...parseDeletePropagation(options, query),
      dryRun: dryRun || query.getAll('dryRun').includes('All'),
      preconditions: {
        ...(typeof pre['uid'] === 'string' ? { uid: pre['uid'] } : {}),
        ...(typeof pre['resourceVersion'] === 'string' ? { resourceVersion: pre['resourceVersion'] } : {}),
      },
      user: call.user,
    }),
  );
  return { status: 201, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } };
}
