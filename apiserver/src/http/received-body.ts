// The raw body a request carried, kept beside the request once read (for the audit log's requestObject), so
// nothing reads a request stream twice.

import type { IncomingMessage } from 'node:http';

export const receivedBodies = new WeakMap<IncomingMessage, Buffer>();
