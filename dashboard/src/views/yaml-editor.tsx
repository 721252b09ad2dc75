// The YAML tab: the object as YAML (managedFields on request); Edit turns it into a text area, Review sends it as a
// server-side apply with dryRun=All and shows the line diff between the object now and what the server would make
// of it; only Save applies it (field manager berth-dashboard, forced, as `kubectl apply --server-side
// --force-conflicts` does; the resourceVersion in the text guards against someone else's write in between).

import { useState } from 'preact/hooks';
import { parse, stringify } from 'yaml';
import { apiJson } from '../api/client.js';
import type { KubeObject } from '../api/objects.js';
import { objectPath, type ResourceType } from '../api/resources.js';
import { type DiffLine, lineDiff } from './line-diff.js';

// Long strings (commands, messages) stay on one line: folded, they read as several and diff badly.
const yaml = (o: unknown): string => stringify(o, { lineWidth: 0 });

const withoutManagedFields = (o: KubeObject): KubeObject => {
  const { managedFields: _, ...metadata } = o.metadata;
  return { ...o, metadata };
};

/** What is edited: no managedFields (apply refuses them) and no status (apply to the object ignores it). */
const editable = (o: KubeObject): string => {
  const { status: _, ...rest } = withoutManagedFields(o);
  return yaml(rest);
};

export function YamlEditor(props: { resource: ResourceType; object: KubeObject }) {
  const { resource, object } = props;
  const [showManaged, setShowManaged] = useState(false);
  const [draft, setDraft] = useState<string>();
  const [diff, setDiff] = useState<readonly DiffLine[]>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);

  const apply = async (dryRun: boolean): Promise<KubeObject> => {
    parse(draft ?? ''); // a YAML error is shown before anything is sent
    const query = `fieldManager=berth-dashboard&force=true${dryRun ? '&dryRun=All' : ''}`;
    return apiJson<KubeObject>(`${objectPath(resource, object.metadata.namespace, object.metadata.name)}?${query}`, {
      method: 'PATCH',
      body: draft ?? '',
      contentType: 'application/apply-patch+yaml',
    });
  };
  const run = async (step: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await step();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  if (draft === undefined)
    return (
      <div class="yaml">
        <div class="toolbar">
          <label>
            <input
              type="checkbox"
              checked={showManaged}
              onChange={(e) => setShowManaged((e.currentTarget as HTMLInputElement).checked)}
            />{' '}
            managedFields
          </label>
          <button
            type="button"
            onClick={() => {
              setDraft(editable(object));
              setDiff(undefined);
              setSaved(false);
            }}
          >
            Edit
          </button>
          {saved ? <span class="live on">saved</span> : null}
        </div>
        <pre data-testid="yaml">{yaml(showManaged ? object : withoutManagedFields(object))}</pre>
      </div>
    );
  return (
    <div class="yaml">
      <div class="toolbar">
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            void run(async () => {
              const result = await apply(true);
              setDiff(lineDiff(yaml(withoutManagedFields(object)), yaml(withoutManagedFields(result))));
            })
          }
        >
          Review changes
        </button>
        <button
          type="button"
          class="primary"
          disabled={busy || diff === undefined}
          title={diff === undefined ? 'Review the changes first' : ''}
          onClick={() =>
            void run(async () => {
              await apply(false);
              setDraft(undefined);
              setSaved(true);
            })
          }
        >
          Save
        </button>
        <button type="button" onClick={() => setDraft(undefined)}>
          Cancel
        </button>
      </div>
      {error === undefined ? null : (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="editor">
        <textarea
          aria-label="YAML"
          spellcheck={false}
          wrap="off"
          value={draft}
          onInput={(e) => {
            setDraft((e.currentTarget as HTMLTextAreaElement).value);
            setDiff(undefined);
          }}
        />
        {diff === undefined ? null : (
          <pre class="diff" data-testid="diff">
            {diff.length === 0 || diff.every((l) => l.kind === ' ' || l.kind === '…')
              ? 'No changes.'
              : diff.map((l, k) => (
                  <div key={k} class={l.kind === '+' ? 'add' : l.kind === '-' ? 'del' : l.kind === '…' ? 'skip' : ''}>
                    {l.kind === '…' ? '…' : `${l.kind} ${l.text}`}
                  </div>
                ))}
          </pre>
        )}
      </div>
    </div>
  );
}
