// Secret kinds the recommended secretlint preset does not detect, as secretlint rules of our
// own (same engine, same reports, same masking): JSON Web Tokens, Google API keys, Stripe
// secret and restricted keys, GitLab personal access tokens. Each pattern is anchored on the
// issuer's documented prefix, so look-alikes (a UUID, a commit id, base64 data) do not match.

import type { SecretLintRuleCreator, SecretLintSourceCode } from '@secretlint/types';

export interface PatternRule {
  readonly id: string;
  readonly messageId: string;
  readonly what: string;
  readonly pattern: RegExp;
  /** Extra check on a match (e.g. the JWT header decodes to JSON with "alg"). */
  readonly accept?: (match: string) => boolean;
}

function patternRule(spec: PatternRule): SecretLintRuleCreator {
  const messages = {
    [spec.messageId]: { en: (props: { VALUE: string }) => `found ${spec.what}: ${props.VALUE}` },
  };
  return {
    messages,
    meta: {
      id: spec.id,
      type: 'scanner',
      recommended: true,
      supportedContentTypes: ['text'],
    },
    create(context) {
      const t = context.createTranslator(messages);
      return {
        file(source: SecretLintSourceCode) {
          for (const match of source.content.matchAll(spec.pattern)) {
            const value = match[0];
            if (spec.accept !== undefined && !spec.accept(value)) continue;
            const index = match.index;
            context.report({
              message: t(spec.messageId, { VALUE: value }),
              range: [index, index + value.length],
            });
          }
        },
      };
    },
  };
}

function decodesToJsonWithAlg(segment: string): boolean {
  try {
    const header = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
    return typeof header === 'object' && header !== null && 'alg' in header;
  } catch {
    return false;
  }
}

/**
 * Raise when a rule's `accept` check changes: the scan's fingerprint (secrets.ts) holds the
 * ids and patterns by themselves, but not what the checks do.
 */
export const LESSONS_RULES_REVISION = 1;

/** Our rules, as specs: the fingerprint of the scan is made from them. */
export const LESSONS_SECRET_PATTERNS: readonly PatternRule[] = [
  {
    id: 'lessons/secret-rule-jwt',
    messageId: 'JWT',
    what: 'JSON Web Token',
    // header.payload.signature, each base64url; the header is JSON naming its algorithm.
    pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/g,
    accept: (match) => decodesToJsonWithAlg(match.slice(0, match.indexOf('.'))),
  },
  {
    id: 'lessons/secret-rule-google-api-key',
    messageId: 'GOOGLE_API_KEY',
    what: 'Google API key',
    pattern: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g,
  },
  {
    id: 'lessons/secret-rule-stripe',
    messageId: 'STRIPE_KEY',
    what: 'Stripe secret key',
    pattern: /\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{24,}\b/g,
  },
  {
    id: 'lessons/secret-rule-gitlab',
    messageId: 'GITLAB_TOKEN',
    what: 'GitLab personal access token',
    pattern: /\bglpat-[0-9A-Za-z_-]{20,}(?![0-9A-Za-z_-])/g,
  },
];

export const LESSONS_SECRET_RULES: readonly SecretLintRuleCreator[] =
  LESSONS_SECRET_PATTERNS.map(patternRule);
