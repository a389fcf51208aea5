// Liveness and readiness bodies.
import { z } from 'zod';

export const Liveness = z.object({ status: z.literal('ok') }).meta({ id: 'Liveness' });

export const Readiness = z
  .object({
    status: z
      .enum(['ready', 'draining', 'overloaded', 'store_unavailable'])
      .describe(
        'overloaded: new jobs are refused for a moment (memory, event-loop delay, descriptors); ' +
          'store_unavailable: the job store (Redis) does not answer.',
      ),
  })
  .meta({ id: 'Readiness' });
