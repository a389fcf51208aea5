// RFC 9457 problem details: the one error body of the API, with a stable `code` from the
// catalog in src/errors.ts. Every error the service sends, a route's or the HTTP server's, uses one.
import { z } from 'zod';

export const Problem = z
  .object({
    type: z.string().describe('URI reference naming the problem type.'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    code: z.string().describe('Stable machine-readable error code.'),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .describe('Validation failures, one per offending field.'),
  })
  .meta({ id: 'Problem' });
export type Problem = z.infer<typeof Problem>;
