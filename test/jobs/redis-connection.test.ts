// What the service tells apart about Redis without a Redis: an error that passes (away, full,
// loading, failing over) from a bug, and a URL as it may appear in a log.
import { describe, expect, it } from 'vitest';
import { isStoreUnavailable, redactedRedisUrl } from '../../src/jobs/redis-connection.js';

describe('isStoreUnavailable', () => {
  it.each([
    "Stream isn't writeable and enableOfflineQueue options is false",
    'Connection is closed.',
    'Command timed out',
    'connect ECONNREFUSED 127.0.0.1:6379',
    "OOM command not allowed when used memory > 'maxmemory'.",
    'LOADING Redis is loading the dataset in memory',
    "READONLY You can't write against a read only replica.",
    'BUSY Redis is busy running a script.',
    'TRYAGAIN Multiple keys request during rehashing of slot',
    'CLUSTERDOWN The cluster is down',
  ])('passes: %s', (message) => {
    expect(isStoreUnavailable(new Error(message))).toBe(true);
  });

  it.each([
    'ERR wrong number of arguments',
    'WRONGTYPE Operation against a key holding the wrong kind of value',
    'job x not found',
  ])('is a bug, not an outage: %s', (message) => {
    expect(isStoreUnavailable(new Error(message))).toBe(false);
  });
});

describe('redactedRedisUrl', () => {
  it('hides the password wherever ioredis would read one', () => {
    expect(redactedRedisUrl('redis://user:s3cret@h:6379/0')).toBe('redis://user:***@h:6379/0');
    expect(redactedRedisUrl('redis://h:6379/0?password=s3cret')).toBe('redis://h:6379/0');
    expect(redactedRedisUrl('not a url')).not.toContain('not a url');
  });
});
