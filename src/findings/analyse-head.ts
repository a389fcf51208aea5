// A probe result's head read for security: the Observatory's header tests with its score and
// grade, unscored TLS and disclosure findings, and technology hints. Pure and never throws.
import type { Finding, Grade, Technology } from '../schemas/findings.js';
import type { ProbeResult } from '../schemas/probe-result.js';
import { checkCookies } from './cookie-check.js';
import { checkCsp } from './csp-check.js';
import { checkDisclosure } from './disclosure-check.js';
import { Field, type HeaderField, type HeadFields, readHead, setCookiesOf } from './head-fields.js';
import { checkHsts } from './hsts-check.js';
import {
  checkContentTypeOptions,
  checkCors,
  checkEmbedderPolicy,
  checkFrameOptions,
  checkOpenerPolicy,
  checkReferrerPolicy,
  checkResourcePolicy,
} from './policy-header-checks.js';
import { checkRedirection } from './redirection-check.js';
import { gradeForScore, ScoreCard } from './score-card.js';
import { detectTechnologies } from './technologies.js';
import { checkTls } from './tls-check.js';

export type HeadFacts = Pick<
  ProbeResult,
  'url' | 'finalUrl' | 'ok' | 'status' | 'headers' | 'redirects' | 'tls' | 'timing' | 'error'
>;

export interface HeadAnalysisOptions {
  /** A certificate expiring within this many days is reported (tls-certificate-expiring). */
  readonly certificateExpiryDays: number;
  /** epoch ms; defaults to Date.parse(facts.timing.startedAt) */
  readonly now?: number;
}

export interface HeadAnalysis {
  findings: Finding[];
  /** The Observatory score (0 and up; bonuses can take it past 100); null without a final response. */
  score: number | null;
  grade: Grade | null;
  technologies: Technology[];
}

function isHttps(url: string | null): boolean {
  return url !== null && url.length > 6 && url.slice(0, 6).toLowerCase() === 'https:';
}

function isHttp(url: string | null): boolean {
  return url !== null && url.length > 5 && url.slice(0, 5).toLowerCase() === 'http:';
}

function clockOf(facts: HeadFacts, options: HeadAnalysisOptions): number {
  if (options.now !== undefined && Number.isFinite(options.now)) return options.now;
  const started = Date.parse(facts.timing.startedAt);
  return Number.isNaN(started) ? Date.now() : started;
}

function fieldOf(head: HeadFields, slot: Field): HeaderField | null {
  return head.fields[slot] ?? null;
}

/** Every Set-Cookie along the chain, in the order a browser's jar would take them. */
function chainCookies(facts: HeadFacts, final: readonly HeaderField[]): readonly HeaderField[] {
  if (facts.redirects.length === 0) return final;
  const lines: HeaderField[] = [];
  for (const hop of facts.redirects) setCookiesOf(hop.headers, lines);
  for (const line of final) lines.push(line);
  return lines;
}

export function analyseHead(facts: HeadFacts, options: HeadAnalysisOptions): HeadAnalysis {
  const card = new ScoreCard();
  const head = readHead(facts.headers);
  const url = facts.url;
  let score: number | null = null;

  // Only a final response has a head to grade.
  if (facts.ok && facts.status !== null && url !== null) {
    const finalUrl = facts.finalUrl ?? url;
    const finalIsHttps = isHttps(finalUrl);
    const csp = fieldOf(head, Field.csp);
    const frameAncestors = checkCsp(card, csp, fieldOf(head, Field.cspReportOnly), finalIsHttps);
    const hsts = checkHsts(card, fieldOf(head, Field.hsts), finalIsHttps, facts.tls);
    checkCookies(card, chainCookies(facts, head.cookies), hsts);
    checkEmbedderPolicy(card, fieldOf(head, Field.embedderPolicy));
    checkOpenerPolicy(card, fieldOf(head, Field.openerPolicy));
    checkCors(card, fieldOf(head, Field.allowOrigin), fieldOf(head, Field.allowCredentials));
    if (isHttp(url)) {
      checkRedirection(card, facts, finalUrl, fieldOf(head, Field.location));
    }
    checkReferrerPolicy(card, fieldOf(head, Field.referrerPolicy));
    checkContentTypeOptions(card, fieldOf(head, Field.contentTypeOptions));
    checkFrameOptions(card, fieldOf(head, Field.frameOptions), frameAncestors ? csp : null);
    checkResourcePolicy(card, fieldOf(head, Field.resourcePolicy));
    checkDisclosure(card, head);
    score = card.score();
  }
  if (facts.tls) {
    checkTls(
      card,
      facts.tls,
      facts.finalUrl ?? facts.url,
      clockOf(facts, options),
      options.certificateExpiryDays,
    );
  }
  return {
    findings: card.findings,
    score,
    grade: score === null ? null : gradeForScore(score),
    technologies: detectTechnologies(head),
  };
}
