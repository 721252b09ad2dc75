// What a Volume and a Container say about each other: the node a Volume lives on, the Volumes a Container names.
import type { Container, Volume } from '@berth/api';

/** The node a Volume lives on, if one was named or has taken it. */
export const volumeNode = (v: Volume): string | undefined =>
  v.spec?.nodeName !== undefined && v.spec.nodeName !== '' ? v.spec.nodeName : v.status?.nodeName || undefined;

/** The Volumes `c` refers to by name (spec.volumes[].volumeRef). */
export const volumeRefs = (c: Container): string[] =>
  (c.spec.volumes ?? []).flatMap((v) => (v.volumeRef !== undefined ? [v.volumeRef.name] : []));
