// The REST verbs on resources (get, list, watch, create, update, patch, delete, deletecollection) and their
// status and scale subresources, for every kind alike: no per-kind handlers.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, badRequest, conflict, methodNotAllowed, pathNotFound } from '../errors/api-error.js';
import { decodeBody, decodeObjectBody, mediaType, readBody } from '../http/body.js';
import {
  dropsManagedFields,
  fieldValidation,
  includeObject,
  intParam,
  isDryRun,
  wantsTable,
} from '../http/negotiation.js';
import type { ResourceRequest } from '../http/request-info.js';
import type { ObjectStore, ObjectScope, Subresource, WriteOptions } from '../objects/object-store.js';
import { cloneJson, isPlainObject, type KubeObject } from '../objects/object.js';
import { buildFilter, selectorIndex, type ObjectFilter } from '../objects/selectors.js';
import { parseDeletePropagation, type DeletePropagation } from '../objects/deletion.js';
import { applyJsonPatch } from '../patch/json-patch.js';
import { applyMergePatch } from '../patch/merge-patch.js';
import type { JsonValue } from '../patch/json-value.js';
import type { ResourceRegistry } from '../registry/registry.js';
import { collectionPrefix, groupVersion, type Resource } from '../registry/resource.js';
import { toTable } from '../table/table.js';
import { serveWatch, type WatchSource } from '../watch/watch-stream.js';
import type { FieldOwnership } from '../field-ownership/ownership.js';
import type { UserInfo } from '../authentication/authenticator.js';
import type { Reply } from '../request-chain/reply.js';
import type { Reviews } from './reviews.js';
import { scaleOf, applyScale } from './scale.js';

export interface ResourceHandlerDeps {
  readonly registry: ResourceRegistry;
  readonly objects: ObjectStore;
  readonly watchSource: WatchSource;
  readonly fields: FieldOwnership;
  readonly bookmarkIntervalMs: number;
  /** What answers the kinds that are questions (createOnly) and the TokenRequest subresource. */
  readonly reviews: Reviews;
}

/** One resource request as the request chain hands it over. */
export interface ResourceCall {
  readonly info: ResourceRequest;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly query: URLSearchParams;
  readonly userAgent: string;
  readonly signal: AbortSignal;
  /** The authenticated user (admission sees who writes). */
  readonly user: UserInfo;
}

const undeletable = (r: Resource, name: string) =>
  new ApiError(
    'Forbidden',
    `${r.group === '' ? r.plural : `${r.plural}.${r.group}`} "${name}" is forbidden: this namespace may not be deleted`,
    { name, group: r.group, kind: r.plural },
  );

export const unsupportedPatch = (accepted: string) =>
  new ApiError(
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted}`,
  );

/** Handles one resource request; returns the reply, or undefined when it streamed the answer itself (watch). */
export async function handleResource(deps: ResourceHandlerDeps, call: ResourceCall): Promise<Reply | undefined> {
  const { info, req, res, query, signal } = call;
  const resource = deps.registry.get(info.group, info.version, info.resource);
  if (resource === undefined) throw pathNotFound();
  if (!resource.namespaced && info.namespace !== undefined && info.resource !== 'namespaces') throw pathNotFound();
  const scope: ObjectScope = { resource, namespace: resource.namespaced ? info.namespace : undefined };
  const subresource = info.subresource;
  if (resource.strategy.createOnly === true || (subresource === 'token' && resource.plural === 'serviceaccounts'))
    return review(deps, call, resource);
  if (
    subresource !== undefined &&
    !(subresource === 'status' && resource.subresources.status) &&
    !(subresource === 'scale' && resource.subresources.scale !== undefined) &&
    !(subresource === 'finalize' && resource.strategy.finalize !== undefined) &&
    !(subresource === 'binding' && resource.strategy.binding !== undefined)
  ) {
    throw pathNotFound();
  }
  // finalize is written with PUT only, as on Kubernetes.
  if (subresource === 'finalize' && info.verb !== 'update')
    throw methodNotAllowed(req.method ?? '', `${info.resource}/finalize`);
  // binding is created with POST only, as pods/binding.
  if (subresource === 'binding' && info.verb !== 'create')
    throw methodNotAllowed(req.method ?? '', `${info.resource}/binding`);
  // status and scale serve get, update and patch only: a DELETE or watch there must not reach the object itself.
  if ((subresource === 'status' || subresource === 'scale') && !['get', 'update', 'patch'].includes(info.verb))
    throw methodNotAllowed(req.method ?? '', `${info.resource}/${subresource}`);
  if (resource.namespaced && info.namespace === undefined && !['list', 'watch'].includes(info.verb))
    throw pathNotFound();
  if ((info.verb === 'update' || info.verb === 'patch') && info.name === undefined)
    throw methodNotAllowed(req.method ?? '', info.resource);
  const table = wantsTable(req.headers.accept);

  switch (info.verb) {
    case 'get': {
      const obj = await deps.objects.get(scope, info.name!);
      if (subresource === 'scale') return { status: 200, body: scaleOf(resource, obj) };
      return {
        status: 200,
        body: table
          ? toTable(resource, [obj], includeObject(query), { resourceVersion: obj.metadata.resourceVersion ?? '' })
          : obj,
      };
    }
    case 'list': {
      const filter = buildFilter(
        resource,
        query.get('labelSelector') ?? undefined,
        query.get('fieldSelector') ?? undefined,
      );
      const limit = intParam(query, 'limit');
      const page = {
        ...(limit === undefined ? {} : { limit }),
        ...(query.get('continue') ? { continueToken: query.get('continue')! } : {}),
      };
      if (filter === undefined && !table && !dropsManagedFields(req.headers.accept)) {
        // The common big read (informers' relists, paging clients): the items' stored text, spliced into the list.
        const result = await deps.objects.listJson(scope, page);
        const meta = {
          resourceVersion: String(result.revision),
          ...(result.continueToken === undefined ? {} : { continue: result.continueToken }),
        };
        const head = JSON.stringify({ apiVersion: groupVersion(resource), kind: resource.listKind, metadata: meta });
        const items = result.items;
        return {
          status: 200,
          body: undefined,
          listText: {
            head: `${head.slice(0, -1)},"items":[`,
            count: items.length,
            item: (i) => items[i] ?? 'null',
            tail: ']}',
          },
        };
      }
      const result = await deps.objects.list(scope, {
        ...(filter === undefined ? {} : { filter }),
        ...(limit === undefined ? {} : { limit }),
        ...(query.get('continue') ? { continueToken: query.get('continue')! } : {}),
      });
      const meta = {
        resourceVersion: String(result.revision),
        ...(result.continueToken === undefined ? {} : { continue: result.continueToken }),
      };
      if (table) return { status: 200, body: toTable(resource, result.items, includeObject(query), meta) };
      return {
        status: 200,
        body: { apiVersion: groupVersion(resource), kind: resource.listKind, metadata: meta, items: result.items },
      };
    }
    case 'watch': {
      const selected = buildFilter(
        resource,
        query.get('labelSelector') ?? undefined,
        query.get('fieldSelector') ?? undefined,
      );
      // A watch on a named path (…/configmaps/web?watch=true) is a watch of that object, as Kubernetes narrows it
      // with metadata.name: never the rest of the collection.
      const name = info.name;
      const filter: ObjectFilter | undefined =
        name === undefined ? selected : (obj) => obj.metadata.name === name && (selected?.(obj) ?? true);
      await serveWatch(
        res,
        {
          resource,
          prefix: collectionPrefix(resource, scope.namespace),
          filter,
          index: selectorIndex(
            resource,
            query.get('labelSelector') ?? undefined,
            query.get('fieldSelector') ?? undefined,
            name,
          ),
          resourceVersion: query.get('resourceVersion') ?? undefined,
          initialState: () => deps.objects.list(scope, filter === undefined ? {} : { filter }),
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
      if (subresource === 'binding') return bind(deps, scope, call);
      if (info.name !== undefined) throw methodNotAllowed('POST', `${info.resource}/${info.name}`);
      const body = asObject(decodeObjectBody(await readBody(req), req.headers['content-type'], resource.builtin));
      const options = writeOptions(deps, call, resource, 'main');
      const created = await deps.objects.create(scope, body, options);
      return { status: 201, body: created, json: deps.objects.writtenJson(created), warnings: options.warnings };
    }
    case 'update': {
      const body = asObject(decodeObjectBody(await readBody(req), req.headers['content-type'], resource.builtin));
      const part: Subresource = subresource === 'status' || subresource === 'finalize' ? subresource : 'main';
      const options = writeOptions(deps, call, resource, part);
      if (subresource === 'scale') {
        const { object } = await deps.objects.update(
          scope,
          info.name!,
          'main',
          (cur) => applyScale(resource, cur, body),
          options,
        );
        return { status: 200, body: scaleOf(resource, object) };
      }
      const { object } = await deps.objects.update(scope, info.name!, part, () => cloneJson(body), options);
      return { status: 200, body: object, warnings: options.warnings };
    }
    case 'patch':
      return patch(deps, scope, call);
    case 'delete': {
      if (resource.strategy.undeletable?.has(info.name!)) throw undeletable(resource, info.name!);
      const options = { ...(await deleteOptions(req, query)), user: call.user, warnings: [] };
      const { object, gone } = await deps.objects.delete(scope, info.name!, options);
      // 202 only for the deprecated orphanDependents=false, as Kubernetes answers (clients rely on 200 otherwise).
      if (!gone)
        return { status: options.orphanDependents === false ? 202 : 200, body: object, warnings: options.warnings };
      if (resource.strategy.returnsDeletedObject === true)
        return { status: 200, body: object, warnings: options.warnings };
      return { status: 200, body: successStatus(resource, object), warnings: options.warnings };
    }
    case 'deletecollection': {
      if (resource.strategy.deleteCollection === false) throw methodNotAllowed('DELETE', info.resource);
      const { preconditions: _, ...options } = await deleteOptions(req, query);
      const filter = buildFilter(
        resource,
        query.get('labelSelector') ?? undefined,
        query.get('fieldSelector') ?? undefined,
      );
      const { items, revision } = await deps.objects.list(scope, filter === undefined ? {} : { filter });
      const deleted: KubeObject[] = [];
      for (const item of items) {
        try {
          deleted.push(
            (
              await deps.objects.delete({ resource, namespace: item.metadata.namespace }, item.metadata.name ?? '', {
                ...options,
                user: call.user,
              })
            ).object,
          );
        } catch (e) {
          if (!(ApiError.isInstance(e) && e.reason === 'NotFound')) throw e;
        }
      }
      return {
        status: 200,
        body: {
          apiVersion: groupVersion(resource),
          kind: resource.listKind,
          metadata: { resourceVersion: String(revision) },
          items: deleted,
        },
      };
    }
  }
}

/** A question: create only, answered by its handler, never stored (201, as Kubernetes answers a review). */
async function review(deps: ResourceHandlerDeps, call: ResourceCall, resource: Resource): Promise<Reply> {
  const { info, req } = call;
  const key = `${resource.group}/${resource.plural}${info.subresource === undefined ? '' : `/${info.subresource}`}`;
  const handler = deps.reviews.get(key);
  if (handler === undefined) throw pathNotFound();
  if (resource.namespaced && info.namespace === undefined) throw pathNotFound();
  if (info.verb !== 'create' || (info.subresource === undefined) !== (info.name === undefined))
    throw methodNotAllowed(
      req.method ?? '',
      info.subresource === undefined ? info.resource : `${info.resource}/${info.subresource}`,
    );
  const body = asObject(decodeObjectBody(await readBody(req), req.headers['content-type'], resource.builtin));
  const answer = await handler(
    { ...body, metadata: isPlainObject(body.metadata) ? body.metadata : {} },
    { user: call.user, namespace: info.namespace, name: info.name, signal: call.signal },
  );
  return { status: 201, body: answer };
}

async function patch(deps: ResourceHandlerDeps, scope: ObjectScope, call: ResourceCall): Promise<Reply> {
  const { info, req, query } = call;
  const { resource } = scope;
  const type = mediaType(req.headers['content-type']);
  const part: Subresource = info.subresource === 'status' ? 'status' : 'main';
  const accepted = [
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/apply-patch+yaml',
    ...(resource.builtin ? ['application/strategic-merge-patch+json'] : []),
  ];
  if (!accepted.includes(type)) throw unsupportedPatch(accepted.join(', '));
  const body = decodeBody(await readBody(req), req.headers['content-type']);
  const force = query.get('force');
  if (type !== 'application/apply-patch+yaml' && force !== null) {
    throw new ApiError(
      'Invalid',
      'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
      {
        causes: [
          {
            reason: 'FieldValueForbidden',
            message: 'Forbidden: may not be specified for non-apply patch',
            field: 'force',
          },
        ],
      },
    );
  }
  if (type === 'application/apply-patch+yaml' && info.subresource !== 'scale') {
    const fieldManager = applyFieldManager(query);
    return deps.fields.apply(deps.objects, scope, info.name!, part, asObject(body), {
      manager: fieldManager,
      force: force === 'true',
      dryRun: isDryRun(query.getAll('dryRun')),
      fieldValidation: fieldValidation(query),
      user: call.user,
    });
  }
  const options = writeOptions(deps, call, resource, part);
  // A patch pins the object's version only if it names one itself; otherwise a concurrent write makes the store
  // apply it again to the newer object instead of answering 409 (Kubernetes' patcher retries the same way).
  const pins = patchPinsResourceVersion(type, body);
  const mutate = (current: KubeObject): KubeObject => {
    const out = patchOnce(current);
    if (!pins && isPlainObject(out.metadata)) delete out.metadata.resourceVersion;
    return out;
  };
  const patchOnce = (current: KubeObject): KubeObject => {
    if (info.subresource === 'scale') {
      // A Scale is patched as a Scale (an apply of one sets what it names, like a merge patch), then written back.
      const scale = scaleOf(resource, current) as unknown as JsonValue;
      const patched =
        type === 'application/json-patch+json'
          ? applyJsonPatch(scale, body)
          : applyMergePatch(scale, body as JsonValue);
      return applyScale(resource, current, asObject(patched));
    }
    switch (type) {
      case 'application/json-patch+json':
        return asObject(applyJsonPatch(current as unknown as JsonValue, body));
      case 'application/strategic-merge-patch+json':
        return asObject(deps.fields.strategicMerge(resource, current, body));
      default:
        if (!isPlainObject(body)) throw badRequest('the body of a merge patch must be a JSON object');
        return asObject(applyMergePatch(current as unknown as JsonValue, body as JsonValue));
    }
  };
  const { object } = await deps.objects.update(
    scope,
    info.name!,
    info.subresource === 'scale' ? 'main' : part,
    mutate,
    options,
  );
  return {
    status: 200,
    body: info.subresource === 'scale' ? scaleOf(resource, object) : object,
    warnings: options.warnings,
  };
}

/** Whether the patch itself sets metadata.resourceVersion (a precondition the writer asked for). */
function patchPinsResourceVersion(type: string, body: unknown): boolean {
  if (type === 'application/json-patch+json')
    return (
      Array.isArray(body) &&
      body.some(
        (op) =>
          isPlainObject(op) && typeof op['path'] === 'string' && op['path'].startsWith('/metadata/resourceVersion'),
      )
    );
  if (!isPlainObject(body)) return false;
  const meta = body['metadata'];
  return isPlainObject(meta) && meta['resourceVersion'] !== undefined && meta['resourceVersion'] !== null;
}

/**
 * POST …/NAME/binding with a Binding (`target: { kind: Node, name }`), as pods/binding: sets spec.nodeName of an
 * unbound object, once. Bound already (to any node) or terminating is a 409, so two schedulers cannot both win.
 */
export async function bind(
  deps: ResourceHandlerDeps,
  scope: ObjectScope,
  call: ResourceCall,
  /** The kind the answers name (a Pod bound through the Container it is). @default scope's */
  shown: Resource = scope.resource,
): Promise<Reply> {
  const { info, req } = call;
  const { resource } = scope;
  const body = asObject(decodeObjectBody(await readBody(req), req.headers['content-type'], resource.builtin));
  const target = body['target'];
  const node = isPlainObject(target) && typeof target['name'] === 'string' ? target['name'] : '';
  if (node === '') throw new ApiError('Invalid', `Binding "${info.name!}" is invalid: target.name: Required value`);
  if (isPlainObject(target) && target['kind'] !== undefined && target['kind'] !== 'Node')
    throw new ApiError(
      'Invalid',
      `Binding "${info.name!}" is invalid: target.kind: Unsupported value: "${String(target['kind'])}": supported values: "Node"`,
    );
  const options = writeOptions(deps, call, resource, 'binding');
  const name = info.name!;
  await deps.objects.update(
    scope,
    name,
    'binding',
    (current) => {
      const spec = isPlainObject(current['spec']) ? current['spec'] : {};
      const bound = typeof spec['nodeName'] === 'string' ? spec['nodeName'] : '';
      if (bound !== '') throw conflict(shown, name, `${shown.singular} ${name} is already assigned to node "${bound}"`);
      if (current.metadata.deletionTimestamp !== undefined)
        throw conflict(shown, name, `${shown.singular} ${name} is being deleted, cannot be assigned to a node`);
      const meta = isPlainObject(body['metadata']) ? body['metadata'] : {};
      if (typeof meta['uid'] === 'string' && meta['uid'] !== current.metadata.uid)
        throw conflict(
          shown,
          name,
          `the UID in the precondition (${meta['uid']}) does not match the UID in record (${current.metadata.uid ?? ''}). The object might have been deleted and then recreated`,
        );
      return { ...current, spec: { ...spec, nodeName: node } };
    },
    options,
  );
  return {
    status: 201,
    body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 },
    warnings: options.warnings,
  };
}

/** The `fieldManager` an apply patch must name, or Kubernetes' 422 for its absence. */
export function applyFieldManager(query: URLSearchParams): string {
  const fieldManager = query.get('fieldManager');
  if (fieldManager === null || fieldManager === '') {
    throw new ApiError(
      'Invalid',
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      {
        causes: [
          {
            reason: 'FieldValueRequired',
            message: 'Required value: is required for apply patch',
            field: 'fieldManager',
          },
        ],
      },
    );
  }
  return fieldManager;
}

export function asObject(v: unknown): KubeObject {
  if (!isPlainObject(v)) throw badRequest('the body of the request must be a JSON object');
  return v as KubeObject;
}

/** The field manager of a non-apply write: the parameter, else the User-Agent's product token (as Kubernetes). */
function manager(query: URLSearchParams, userAgent: string): string {
  const m = query.get('fieldManager');
  if (m !== null && m !== '') {
    if (m.length > 128) throw badRequest('fieldManager: Too long: may not be more than 128 bytes');
    return m;
  }
  return userAgent.split('/')[0]?.trim() || 'unknown';
}

export function writeOptions(
  deps: ResourceHandlerDeps,
  call: ResourceCall,
  resource: Resource,
  part: Subresource,
): WriteOptions {
  const { query } = call;
  const fieldManager = manager(query, call.userAgent);
  return {
    dryRun: isDryRun(query.getAll('dryRun')),
    fieldValidation: fieldValidation(query),
    warnings: [],
    trackFields: (before, after) => deps.fields.recordUpdate(resource, before, after, fieldManager, part),
    user: call.user,
  };
}

export async function deleteOptions(
  req: IncomingMessage,
  query: URLSearchParams,
): Promise<{ dryRun: boolean; preconditions?: { uid?: string; resourceVersion?: string } } & DeletePropagation> {
  const raw = await readBody(req);
  let body: Record<string, unknown> = {};
  if (raw.length > 0 && raw.toString('utf8').trim() !== '') {
    const decoded = decodeBody(raw, req.headers['content-type']);
    if (!isPlainObject(decoded)) throw badRequest('DeleteOptions must be a JSON object');
    body = decoded;
  }
  const dryRunValues = [
    ...query.getAll('dryRun'),
    ...(Array.isArray(body['dryRun']) ? (body['dryRun'] as unknown[]).map(String) : []),
  ];
  const pre = isPlainObject(body['preconditions']) ? body['preconditions'] : undefined;
  const preconditions: { uid?: string; resourceVersion?: string } = {};
  if (typeof pre?.['uid'] === 'string') preconditions.uid = pre['uid'];
  if (typeof pre?.['resourceVersion'] === 'string') preconditions.resourceVersion = pre['resourceVersion'];
  return { dryRun: isDryRun(dryRunValues), preconditions, ...parseDeletePropagation(body, query) };
}

export function successStatus(resource: Resource, obj: KubeObject) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name: obj.metadata.name, group: resource.group, kind: resource.plural, uid: obj.metadata.uid },
  };
}
