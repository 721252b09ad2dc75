// Errors of building an image from a Dockerfile, with stable codes the Image's status and the CLI carry.
import { BerthError } from '@berth/api';

export type BuildErrorCode =
  | 'DOCKERFILE_SYNTAX'
  | 'DOCKERFILE_MISSING'
  | 'STAGE_NOT_FOUND'
  | 'COPY_SOURCE_MISSING'
  | 'COPY_OUTSIDE_CONTEXT'
  | 'CONTEXT_TOO_LARGE'
  | 'BASE_IMAGE_FAILED'
  | 'RUN_FAILED'
  | 'ADD_URL_FAILED'
  | 'BUILD_INVALID'
  | 'IMAGE_NOT_FOUND';

/** A build that cannot go on; `line` is the Dockerfile line (1-based) of the instruction at fault, when there is one. */
export class BuildError extends BerthError<BuildErrorCode> {
  readonly line: number | undefined;

  constructor(code: BuildErrorCode, message: string, options?: { readonly cause?: unknown; readonly line?: number }) {
    super(code, options?.line === undefined ? message : `Dockerfile line ${options.line}: ${message}`, options);
    this.line = options?.line;
  }
}
