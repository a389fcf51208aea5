// The findings module's public surface: what a probe result's head says about security,
// the software behind it, and its Alt-Svc advertisement.

export { parseAltSvc } from './alt-svc.js';
export {
  analyseHead,
  type HeadAnalysis,
  type HeadAnalysisOptions,
  type HeadFacts,
} from './analyse-head.js';
