// One target: its timing waterfall (the phases as consecutive bars on one time axis, as a
// browser's devtools draw a request), headers in wire order with duplicates, the redirect
// chain, the certificate, and the error if it failed.
import { useEffect, useRef } from 'preact/hooks';
import type { JobResult } from '../api';
import { certDaysLeft, PHASES } from '../result-facts';

const PHASE_LABELS: Record<(typeof PHASES)[number], string> = {
  dns: 'DNS',
  tcp: 'TCP',
  tls: 'TLS',
  request: 'Request',
  wait: 'Wait',
  transfer: 'Transfer',
};

function Waterfall({ result }: { result: JobResult }) {
  const total = Math.max(result.timing.total, 0.001);
  let start = 0;
  return (
    <figure class="waterfall" data-testid="waterfall">
      <figcaption>Timing, {result.timing.total.toFixed(1)} ms in all</figcaption>
      <ol>
        {PHASES.map((phase) => {
          const ms = result.timing.phases[phase];
          const at = start;
          start += ms ?? 0;
          return (
            <li key={phase} data-phase={phase}>
              <span class="phase-name">{PHASE_LABELS[phase]}</span>
              <span class="track">
                <span
                  class={`bar bar-${phase}`}
                  style={{
                    left: `${(at / total) * 100}%`,
                    width: `${(((ms ?? 0) / total) * 100).toFixed(3)}%`,
                  }}
                />
              </span>
              <span class="phase-ms">{ms === null ? 'not reached' : `${ms.toFixed(2)} ms`}</span>
            </li>
          );
        })}
      </ol>
    </figure>
  );
}

function Headers({ headers }: { headers: ReadonlyArray<readonly [string, string]> }) {
  if (headers.length === 0) return <p>No headers.</p>;
  return (
    <table class="headers" aria-label="Response headers in wire order">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Value</th>
        </tr>
      </thead>
      <tbody>
        {headers.map(([name, value], at) => (
          <tr key={at}>
            <td>{name}</td>
            <td>{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const names = (record: Record<string, string | string[]>) =>
  Object.entries(record)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : value}`)
    .join(', ');

/** The grade, each finding with its severity, and the technology hints. */
function Findings({ result }: { result: JobResult }) {
  if (result.grade === null && result.findings.length === 0 && result.technologies.length === 0) {
    return null;
  }
  return (
    <>
      <h3>Findings</h3>
      {result.grade === null ? null : (
        <p data-testid="grade">
          Grade <strong>{result.grade}</strong> (score {result.score})
        </p>
      )}
      {result.findings.length === 0 ? null : (
        <ul class="findings">
          {result.findings.map((finding) => (
            <li key={finding.id} class={`severity-${finding.severity}`}>
              <span class="severity">{finding.severity}</span> <code>{finding.id}</code>{' '}
              {finding.message}
              {finding.scoreModifier === 0 ? null : ` (${finding.scoreModifier})`}
            </li>
          ))}
        </ul>
      )}
      {result.technologies.length === 0 ? null : (
        <p>
          Technologies:{' '}
          {result.technologies
            .map(({ name, version }) => (version === null ? name : `${name} ${version}`))
            .join(', ')}
        </p>
      )}
      {result.altSvc?.http3 ? <p>HTTP/3 advertised (Alt-Svc)</p> : null}
    </>
  );
}

export function TargetDetail({ result, onClose }: { result: JobResult; onClose: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  // Keyboard users land on the panel they opened.
  useEffect(() => heading.current?.focus(), [result]);
  const certificate = result.tls?.certificate ?? null;
  const days = certDaysLeft(result);
  return (
    <section class="panel detail" aria-labelledby="detail-title">
      <div class="detail-head">
        <h2 id="detail-title" tabIndex={-1} ref={heading}>
          {result.target}
        </h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <p>
        {result.status === null
          ? 'No response'
          : // HTTP/2 has no reason phrase: statusText is null there.
            `HTTP/${result.httpVersion} ${result.status}${result.statusText === null ? '' : ` ${result.statusText}`}`}
        {result.remote === null ? null : ` from ${result.remote.address}:${result.remote.port}`}
        {result.finalUrl !== null && result.finalUrl !== result.url
          ? ` (${result.finalUrl})`
          : null}
      </p>
      {result.error === null ? null : (
        <p class="failed-note">
          <code>{result.error.code}</code> in {result.error.phase}: {result.error.message}
        </p>
      )}
      <Waterfall result={result} />
      <Findings result={result} />
      <h3>Headers</h3>
      <Headers headers={result.headers} />
      {result.redirects.length === 0 ? null : (
        <>
          <h3>Redirects</h3>
          <ol class="redirects">
            {result.redirects.map((hop) => (
              <li key={hop.url}>
                {hop.status} {hop.url} → {hop.location}
                {hop.downgrade ? <strong> (https → http)</strong> : null}
              </li>
            ))}
          </ol>
        </>
      )}
      {result.tls === null ? null : (
        <>
          <h3>TLS</h3>
          <dl class="facts">
            <dt>Protocol</dt>
            <dd>{result.tls.protocol ?? '–'}</dd>
            <dt>Cipher</dt>
            <dd>{result.tls.cipher ?? '–'}</dd>
            <dt>Verified</dt>
            <dd>{result.tls.verified ? 'yes' : `no (${result.tls.verifyError ?? 'unknown'})`}</dd>
            {certificate === null ? null : (
              <>
                <dt>Subject</dt>
                <dd>{names(certificate.subject)}</dd>
                <dt>Issuer</dt>
                <dd>{names(certificate.issuer)}</dd>
                <dt>Names</dt>
                <dd>{certificate.subjectAltNames.join(', ') || '–'}</dd>
                <dt>Valid</dt>
                <dd>
                  {certificate.validFrom} to {certificate.validTo}
                  {days === null ? null : ` (${days < 0 ? 'expired' : `${days} days left`})`}
                </dd>
                <dt>SHA-256</dt>
                <dd class="mono">{certificate.fingerprint256}</dd>
              </>
            )}
          </dl>
        </>
      )}
    </section>
  );
}
