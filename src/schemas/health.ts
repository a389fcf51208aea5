// Liveness and readiness bodies.
import { z } from 'zod';

export const Liveness = z.object({ status: z.literal('ok') }).meta({ id: 'Liveness' });

export const Readiness = z
  .object({
    status: z
      .enum(['ready', 'draining', 'overloaded'])
      .describe(
        'overloaded: new jobs are refused for a moment (memory, event-loop delay, descriptors)',
      ),
  })
  .meta({ id: 'Readiness' });
