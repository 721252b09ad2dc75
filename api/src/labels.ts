// Validation of metadata.labels and metadata.annotations as Kubernetes does it (apimachinery ObjectMeta rules).
import { invalid, tooLong, type FieldError } from './field-errors.js';
import { isQualifiedName, isValidLabelValue } from './names.js';

/** Kubernetes' limit on the summed size of all annotation keys and values, in bytes. */
export const TOTAL_ANNOTATION_SIZE_LIMIT_BYTES = 256 * 1024;

/** Problems with one label key (a qualified name, optional DNS subdomain prefix); [] = valid. */
export function validateLabelKey(key: string): string[] {
  return isQualifiedName(key);
}

/** Problems with one label value; [] = valid. */
export function validateLabelValue(value: string): string[] {
  return isValidLabelValue(value);
}

/**
 * Every problem in a labels map, each reported on `field` (as Kubernetes does: the bad key or value is the
 * error's value, the path stays `metadata.labels`). Keys are checked in sorted order for stable output.
 */
export function validateLabels(
  labels: Readonly<Record<string, string>> | undefined,
  field = 'metadata.labels',
): FieldError[] {
  const errs: FieldError[] = [];
  for (const key of Object.keys(labels ?? {}).sort()) {
    for (const msg of validateLabelKey(key)) errs.push(invalid(field, key, msg));
    const value = labels![key]!;
    if (typeof value !== 'string') {
      errs.push(invalid(field, value, 'label values must be strings'));
      continue;
    }
    for (const msg of validateLabelValue(value)) errs.push(invalid(field, value, msg));
  }
  return errs;
}

/** Summed byte size of annotation keys and values, the measure Kubernetes limits. */
export function annotationsSize(annotations: Readonly<Record<string, string>> | undefined): number {
  let total = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    total += Buffer.byteLength(k, 'utf8') + Buffer.byteLength(typeof v === 'string' ? v : String(v), 'utf8');
  }
  return total;
}

/**
 * Every problem in an annotations map: keys are qualified names compared case-insensitively, and all keys and
 * values together may not exceed 256 KiB (`metadata.annotations: Too long: may not be more than 262144 bytes`).
 */
export function validateAnnotations(
  annotations: Readonly<Record<string, string>> | undefined,
  field = 'metadata.annotations',
): FieldError[] {
  const errs: FieldError[] = [];
  for (const key of Object.keys(annotations ?? {}).sort()) {
    for (const msg of isQualifiedName(key.toLowerCase())) errs.push(invalid(field, key, msg));
  }
  if (annotationsSize(annotations) > TOTAL_ANNOTATION_SIZE_LIMIT_BYTES) {
    errs.push(tooLong(field, TOTAL_ANNOTATION_SIZE_LIMIT_BYTES));
  }
  return errs;
}
