// Liveness and readiness bodies.
import { z } from 'zod';

export const Liveness = z.object({ status: z.literal('ok') }).meta({ id: 'Liveness' });

export const Readiness = z
  .object({ status: z.enum(['ready', 'draining']) })
  .meta({ id: 'Readiness' });
