import type { z } from 'zod';
import { toValidationIssues } from '../../machines/agent-result.js';
import type { EditValidator, EditVerdict } from '../../machines/escalation.js';

const MAX_ISSUES = 20;

/**
 * An edit validator from a zod schema (the agent's output schema): a human's edit must pass what the
 * agent's output had to. Synchronous: a schema with async refinements reports that as an issue.
 * The parsed data (defaults applied) becomes the edited output.
 */
export function schemaValidator(schema: z.ZodType): EditValidator {
  return (output): EditVerdict => {
    let parsed: ReturnType<z.ZodType['safeParse']>;
    try {
      parsed = schema.safeParse(output);
    } catch (error) {
      const reason = `the schema could not check the edit synchronously: ${error instanceof Error ? error.message : String(error)}`;
      return { valid: false, reason, issues: [{ path: '(root)', message: reason }] };
    }
    if (parsed.success) return { valid: true, output: parsed.data };
    const issues = toValidationIssues(parsed.error.issues.slice(0, MAX_ISSUES));
    const first = issues[0]!;
    const more = parsed.error.issues.length > 1 ? ` (+${parsed.error.issues.length - 1} more)` : '';
    return { valid: false, reason: `schema: ${first.path}: ${first.message}${more}`, issues };
  };
}
