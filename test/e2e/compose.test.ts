// compose.yaml, checked without a Docker engine: Redis with noeviction, an API service and a
// worker service from the same image whose settings the service itself accepts, and workers
// without published ports, so `docker compose up --scale worker=4` has nothing to clash on.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';

interface Service {
  image?: string;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, unknown>;
}

const compose = parse(readFileSync(new URL('../../compose.yaml', import.meta.url), 'utf8'), {
  merge: true,
}) as { services: Record<string, Service> };

describe('compose.yaml', () => {
  const { redis, api, worker } = compose.services;

  it('runs Redis with noeviction, and API and workers on it from one image', () => {
    expect(redis?.command).toEqual(expect.arrayContaining(['--maxmemory-policy', 'noeviction']));
    expect(api?.image).toBe(worker?.image);
    expect(Object.keys(api?.depends_on ?? {})).toEqual(['redis']);
    expect(Object.keys(worker?.depends_on ?? {})).toEqual(['redis']);
  });

  it('gives each role settings the service accepts', () => {
    const apiConfig = loadConfig(api?.environment);
    const workerConfig = loadConfig(worker?.environment);
    expect([apiConfig.role, workerConfig.role]).toEqual(['api', 'worker']);
    expect(apiConfig.redis?.url).toBe('redis://redis:6379');
    expect(workerConfig.redis?.url).toBe('redis://redis:6379');
  });

  it('publishes the API port only, so workers scale', () => {
    expect(api?.ports).toEqual(['127.0.0.1:3000:3000']);
    expect(worker?.ports).toBeUndefined();
  });
});
