// Declares a controller's watches and builds it: for(kind) is what it reconciles, owns(kind) maps children to
// their controlling owner, watches(kind, map) is the escape hatch (controller-runtime's builder).
import type { KubernetesObject } from '@kubernetes/client-node';
import type { InformerSelector } from '../cache/informer-cache.js';
import type { SharedInformer } from '../cache/informer.js';
import type { KindRef } from '../client/resource.js';
import { Controller, type ControllerOptions } from '../controller/controller.js';
import { InvalidOptionError } from '../errors.js';
import { enqueueForObject, enqueueForOwner, type MapFunc } from '../handler/enqueue.js';
import type { Manager } from '../manager/manager.js';
import type { ReconcileFunc, Reconciler } from '../reconcile/reconcile.js';

type BuilderOptions = Omit<ControllerOptions, 'name' | 'reconciler'>;

interface Watch {
  readonly kind: KindRef;
  readonly selector: InformerSelector;
  readonly map: 'object' | 'owner' | MapFunc;
}

export class Builder {
  readonly #manager: Manager;
  #for: Watch | undefined;
  readonly #watches: Watch[] = [];
  #name: string | undefined;
  #options: BuilderOptions = {};

  constructor(manager: Manager) {
    this.#manager = manager;
  }

  /** The kind this controller reconciles; its events enqueue the object's own key. Called once. */
  for(kind: KindRef, selector: InformerSelector = {}): this {
    if (this.#for !== undefined)
      throw new InvalidOptionError('for() was already called: a controller reconciles one kind');
    this.#for = { kind, selector, map: 'object' };
    return this;
  }

  /** A kind this controller creates: its events enqueue the key of its controlling owner of the for() kind. */
  owns(kind: KindRef, selector: InformerSelector = {}): this {
    this.#watches.push({ kind, selector, map: 'owner' });
    return this;
  }

  /** Any other kind, mapped to requests by `map`. */
  watches<T extends KubernetesObject>(kind: KindRef, map: MapFunc<T>, selector: InformerSelector = {}): this {
    this.#watches.push({ kind, selector, map: map as MapFunc });
    return this;
  }

  /** @default the for() kind, lower-cased */
  named(name: string): this {
    this.#name = name;
    return this;
  }

  withOptions(options: BuilderOptions): this {
    this.#options = { ...this.#options, ...options };
    return this;
  }

  /** Builds the controller, wires its informers (shared through the manager's cache) and adds it to the manager. */
  async complete(reconciler: Reconciler | ReconcileFunc): Promise<Controller> {
    const cache = this.#manager.cache;
    if (this.#for === undefined && (this.#name === undefined || this.#watches.length === 0)) {
      throw new InvalidOptionError('a controller needs for(kind), or named(name) and at least one watches()');
    }
    const owner = this.#for === undefined ? undefined : await this.#manager.client.resolve(this.#for.kind);
    if (owner !== undefined && owner.kind === '' && this.#watches.some((w) => w.map === 'owner')) {
      throw new InvalidOptionError('owns() needs the for() kind named by apiVersion and kind (or with kind set)');
    }
    const name = this.#name ?? owner!.kind.toLowerCase();
    if (name === '') throw new InvalidOptionError('name the controller with named(): its for() kind has no kind name');
    const controller = new Controller({ ...this.#options, name, reconciler });
    this.#manager.claimName(name);
    const wired: Array<[SharedInformer, MapFunc]> = [];
    for (const w of this.#for === undefined ? this.#watches : [this.#for, ...this.#watches]) {
      const informer = await cache.informerFor(w.kind, w.selector);
      const map =
        w.map === 'object'
          ? enqueueForObject()
          : w.map === 'owner'
            ? enqueueForOwner({ group: owner!.group, kind: owner!.kind, namespaced: owner!.namespaced })
            : w.map;
      wired.push([informer, map]);
    }
    for (const [informer, map] of wired) controller.watch(informer, map);
    await this.#manager.add(controller);
    return controller;
  }
}

/** Starts building a controller run by `manager`. */
export function newControllerManagedBy(manager: Manager): Builder {
  return new Builder(manager);
}
