// A Container-like CRD schema and helpers shared by the apply tests.

import type { JsonObject } from '../../src/patch/json-value.js';

export const AV = 'berth.dev/v1alpha1';

export const schema: JsonObject = {
  type: 'object',
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
    spec: {
      type: 'object',
      properties: {
        image: { type: 'string' },
        replicas: { type: 'integer' },
        ports: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['port', 'protocol'],
          items: {
            type: 'object',
            properties: {
              port: { type: 'integer' },
              protocol: { type: 'string', default: 'TCP' },
              name: { type: 'string' },
            },
          },
        },
        containers: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              image: { type: 'string' },
              args: { type: 'array', items: { type: 'string' } },
            },
          },
        },
        args: { type: 'array', items: { type: 'string' } },
        tags: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
        env: { type: 'object', additionalProperties: { type: 'string' } },
        selector: { type: 'object', 'x-kubernetes-map-type': 'atomic', additionalProperties: { type: 'string' } },
        resources: {
          type: 'object',
          properties: {
            limits: {
              type: 'object',
              properties: { cpu: { 'x-kubernetes-int-or-string': true }, memory: { type: 'string' } },
            },
            requests: { type: 'object', properties: { cpu: { 'x-kubernetes-int-or-string': true } } },
          },
        },
        extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      },
    },
    status: { type: 'object', properties: { phase: { type: 'string' }, ip: { type: 'string' } } },
  },
};

export function ctr(spec: JsonObject, meta: JsonObject = {}): JsonObject {
  return { apiVersion: AV, kind: 'Container', metadata: { name: 'web', namespace: 'default', ...meta }, spec };
}

export const T0 = '2026-11-25T10:00:00Z';
export const T1 = '2026-11-25T11:00:00Z';
export const T2 = '2026-11-25T12:00:00Z';
export const T3 = '2026-11-25T13:00:00Z';
