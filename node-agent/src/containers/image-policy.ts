// Decides whether a Container's image is pulled or taken from this node, by imagePullPolicy as kubelet does.
//
// Always (the default for `:latest` and untagged references) asks the registry each time a container is
// created (cheap when the layers are cached: one manifest request); IfNotPresent and Never use an image this
// agent already pulled for that reference. Pull errors become ErrImagePull with the registry's own message.
import type { Container } from '@berth/api';
import type { ImageService, PulledImage, PullProgress } from '../images/images.js';
import { parseReference, type DockerConfigJson } from '../distribution/distribution.js';
import { AgentError } from './errors.js';

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

export function pullPolicy(container: Container): PullPolicy {
  if (container.spec.imagePullPolicy !== undefined) return container.spec.imagePullPolicy;
  try {
    const ref = parseReference(container.spec.image);
    return ref.digest === undefined && (ref.tag === undefined || ref.tag === 'latest') ? 'Always' : 'IfNotPresent';
  } catch {
    return 'Always';
  }
}

export interface EnsuredImage {
  readonly image: PulledImage;
  /** False when the local copy was used without asking the registry. */
  readonly pulled: boolean;
  readonly ms: number;
}

export class ImagePolicy {
  readonly #images: ImageService;
  /** reference as written → the last successful pull of it. */
  readonly #present = new Map<string, PulledImage>();
  /** reference → the pull in flight, shared by everyone who asks meanwhile. */
  readonly #inFlight = new Map<string, Promise<PulledImage>>();
  /**
   * Pulls run one at a time, as kubelet's serializeImagePulls does by default: concurrent first pulls into one
   * content store race on its ingest files (see the report of the agent work), and a cached pull takes milliseconds.
   */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(images: ImageService) {
    this.#images = images;
  }

  /** `beforePull` runs only when the registry will be asked (so status can say Pulling). */
  async ensure(
    container: Container,
    options: {
      credentials?: DockerConfigJson;
      beforePull?: () => Promise<void>;
      signal?: AbortSignal;
      /** The pull's progress (for the Container that started it; one that joins a pull in flight sees none). */
      onProgress?: (event: PullProgress) => void;
    } = {},
  ): Promise<EnsuredImage> {
    const reference = container.spec.image;
    const policy = pullPolicy(container);
    const local = this.#present.get(reference);
    const started = performance.now();
    if (local !== undefined && policy !== 'Always') return { image: local, pulled: false, ms: 0 };
    // An image built, committed or tagged on this node (or named by a digest it holds) is used as it is, as docker
    // runs a local image: there is no registry to ask for it.
    const made = await this.#images.local?.(reference);
    if (made !== undefined) return { image: made, pulled: false, ms: 0 };
    if (policy === 'Never') {
      throw new AgentError(
        'ErrImageNeverPull',
        `container image "${reference}" is not present with pull policy of Never`,
      );
    }
    await options.beforePull?.();
    try {
      let pull = this.#inFlight.get(reference);
      if (pull === undefined) {
        const run = () =>
          this.#images.pull(reference, {
            ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
            ...(options.signal !== undefined ? { signal: options.signal } : {}),
            ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
          });
        pull = this.#queue.then(run, run);
        this.#queue = pull.catch(() => undefined);
        this.#inFlight.set(reference, pull);
        void pull.finally(() => this.#inFlight.delete(reference)).catch(() => undefined);
      }
      const image = await pull;
      this.#present.set(reference, image);
      return { image, pulled: true, ms: performance.now() - started };
    } catch (err) {
      throw new AgentError('ErrImagePull', `failed to pull image "${reference}": ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** The image ID status shows: repository@digest. */
  static imageID(image: PulledImage): string {
    const at = image.reference.indexOf('@');
    const lastColon = image.reference.lastIndexOf(':');
    const repo =
      at >= 0
        ? image.reference.slice(0, at)
        : lastColon > image.reference.lastIndexOf('/')
          ? image.reference.slice(0, lastColon)
          : image.reference;
    return `${repo}@${image.digest}`;
  }
}
