// The one thing a fixture needs from a tap test: somewhere to register its cleanup.

/** A tap `Test` (or anything with `teardown`): fixtures stop what they started when the test ends. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}
