// `berth inspect`: the API objects a name stands for (a Container, else a Volume, Network or Image) as a JSON
// array, as docker inspect prints; `--format` takes paths into them (`{{.status.phase}}`, `{{json .spec}}`).

import { connectToApi } from '../api-connection.js';
import { ApiClient, type ApiObject, type BerthPlural } from '../api/client.js';
import { resolveContainer } from '../docker/resolve.js';
import { CliError, UsageError } from '../errors.js';

export interface InspectOptions {
  readonly namespace?: string;
  readonly format?: string;
  /** Only this kind: container, volume, network or image. */
  readonly type?: string;
}

const kinds: Record<string, BerthPlural> = {
  container: 'containers',
  volume: 'volumes',
  network: 'networks',
  image: 'images',
};

/** `{{.a.b}}` and `{{json .a}}` filled from `object`. */
export function fillTemplate(template: string, object: unknown): string {
  return template
    .replace(/\\n/g, '\n')
    .replace(/\\t/g, '\t')
    .replace(/\{\{\s*(json\s+)?\.([A-Za-z0-9_.]*)\s*\}\}/g, (_m, asJson: string | undefined, path: string) => {
      let value: unknown = object;
      for (const key of path === '' ? [] : path.split('.'))
        value = (value as Record<string, unknown> | undefined)?.[key];
      if (asJson !== undefined) return JSON.stringify(value ?? null);
      if (value === undefined || value === null) return '<no value>';
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
    });
}

async function find(client: ApiClient, ref: string, type: string | undefined): Promise<ApiObject> {
  if (type !== undefined && kinds[type] === undefined)
    throw new UsageError(`"${type}" is not a valid value for --type`);
  if (type === undefined || type === 'container') {
    try {
      return await resolveContainer(client, ref);
    } catch (e) {
      if (type === 'container') throw e;
    }
  }
  for (const [kind, plural] of Object.entries(kinds)) {
    if (kind === 'container' || (type !== undefined && type !== kind)) continue;
    const found = await client.find(plural, ref);
    if (found !== undefined) return found;
  }
  throw new CliError('BERTH_CLI_API', `No such object: ${ref}`);
}

/**
 * The objects `names` stand for, printed as docker inspect prints (a JSON array, or `format` per object); a name
 * `lookup` cannot find is reported after the others are printed.
 */
export async function inspectObjects(
  names: readonly string[],
  lookup: (name: string) => Promise<ApiObject>,
  format: string | undefined,
  out: NodeJS.WritableStream,
): Promise<void> {
  const objects: ApiObject[] = [];
  let failure: unknown;
  for (const name of names) {
    try {
      objects.push(await lookup(name));
    } catch (e) {
      failure = e;
    }
  }
  if (format !== undefined) for (const o of objects) out.write(`${fillTemplate(format, o)}\n`);
  else out.write(`${JSON.stringify(objects, null, 4)}\n`);
  if (failure !== undefined) throw failure;
}

export async function inspect(
  refs: readonly string[],
  options: InspectOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const client = new ApiClient(await connectToApi(options.namespace));
  await inspectObjects(refs, (ref) => find(client, ref, options.type), options.format, out);
}
