// One target → one ProbeResult: resolve, connect, TLS, send one request, read the
// response head, destroy the socket. Errors are data; the promise never rejects.
// Milestones are stamped from socket events with performance.now() (monotonic, µs).

import * as net from 'node:net';
import * as tls from 'node:tls';
import type { CancellationSignal } from '../cancellation.js';
import type { AddressPolicy } from '../policy/address-policy.js';
import type { Finding, Technology } from '../schemas/findings.js';
import { ProbeOptions } from '../schemas/probe-options.js';
import type {
  ConnectAttempt,
  DnsFacts,
  ProbeErrorCode,
  ProbePhase,
  ProbeResult,
  RemoteEndpoint,
  TlsDetails,
} from '../schemas/probe-result.js';
import type { DnsAnswer, DnsResolver, ResolvedAddress } from './dns/index.js';
import { addHeadAnalysis } from './head-analysis.js';
import {
  Http2Exchange,
  type Http2ExchangeOwner,
  type Http2ResponseHead,
} from './http2-exchange.js';
import { defaultProbeLimits, type ProbeLimits } from './limits.js';
import { pinnedAddress } from './pins.js';
import { buildHttp2RequestHeaders, buildRequestHead, defaultUserAgent } from './request.js';
import { HeadProgress, ResponseHeadReader } from './response-head.js';
import { type Settleable, settleSoon } from './settle-queue.js';
import { classifySocketError } from './socket-errors.js';
import { type ParsedTarget, parseTarget } from './target.js';
import { buildTiming, type Milestones, ms } from './timing.js';
import { describeTlsSession } from './tls-details.js';

export interface ProbeContext {
  readonly resolver: DnsResolver;
  readonly limits?: ProbeLimits;
  /** Aborting ends the probe at once with `cancelled`. */
  readonly signal?: CancellationSignal;
  readonly userAgent?: string;
  /** Trust roots for https targets (e.g. an internal CA); Node's bundled roots by default. */
  readonly secureContext?: tls.SecureContext;
  /** Which addresses may be dialled; judged on each address right before it is dialled. */
  readonly policy?: AddressPolicy;
}

/** A name with many addresses: at most this many are tried, each vetted before dialling. */
const MAX_ADDRESS_ATTEMPTS = 3;
/** RFC 8305 §5: the next address is dialled this long after the previous one, if it is still pending. */
const CONNECTION_ATTEMPT_DELAY_MS = 250;
const NO_ATTEMPTS: ConnectAttempt[] = [];
const NO_FINDINGS: Finding[] = [];
const NO_TECHNOLOGIES: Technology[] = [];

// Two client contexts for every https probe: building one per connection re-reads the roots.
// A probe that verifies certificates keeps Node's defaults (TLS 1.2 and up, OpenSSL security
// level 1, so weak keys and SHA-1 signatures fail verification). One that does not
// (tlsVerify false) reaches down to TLS 1.0 at security level 0, so that an outdated server
// is described, and flagged by the findings, instead of refused.
let verifyingContext: tls.SecureContext | undefined;
let describingContext: tls.SecureContext | undefined;
function sharedSecureContext(tlsVerify: boolean): tls.SecureContext {
  if (tlsVerify) {
    verifyingContext ??= tls.createSecureContext();
    return verifyingContext;
  }
  describingContext ??= tls.createSecureContext({
    minVersion: 'TLSv1',
    ciphers: 'DEFAULT:@SECLEVEL=0',
  });
  return describingContext;
}

// Plain-http reads land in one reused buffer (net's `onread`): no allocation per read.
// Safe to share: each read callback runs to completion before the next read starts,
// and the head reader copies whatever it keeps.
const sharedReadBuffer = Buffer.allocUnsafe(64 * 1024);

// Socket listeners are shared functions that find their probe through the socket,
// instead of closures per probe: at ~10k probes/s the allocations show up in the profile.
const kProbe = Symbol('headprobe.probe');
/** Which of the probe's candidate addresses a socket dials. */
const kCandidate = Symbol('headprobe.candidate');
type ProbeSocket = net.Socket & { [kProbe]: TargetProbe; [kCandidate]: number };

function onSocketConnect(this: ProbeSocket): void {
  this[kProbe].onConnect(this);
}
function onSocketSecureConnect(this: ProbeSocket): void {
  this[kProbe].onSecureConnect(this as unknown as tls.TLSSocket);
}
function onSocketRead(this: ProbeSocket, bytes: number, buffer: Buffer): boolean {
  return this[kProbe].consume(buffer, bytes);
}
function onSocketData(this: ProbeSocket, chunk: Buffer): void {
  this[kProbe].consume(chunk, chunk.length);
}
function onSocketEnd(this: ProbeSocket): void {
  this[kProbe].onEnd();
}
function onSocketError(this: ProbeSocket, error: unknown): void {
  this[kProbe].onSocketError(error, this);
}

type TimeoutCode = Extract<
  ProbeErrorCode,
  'dns_timeout' | 'connect_timeout' | 'tls_timeout' | 'headers_timeout' | 'deadline_exceeded'
>;

// One options object for every plain-http socket: same shared buffer, same callback.
const plainReadOptions = { buffer: sharedReadBuffer, callback: onSocketRead };

/** What an unprobed result is built with: nothing of either is ever used. */
const UNPROBED_OPTIONS = ProbeOptions.parse({});
const UNPROBED_CONTEXT: ProbeContext = {
  resolver: {
    resolve: () => Promise.reject(new Error('an unprobed target resolves no name')),
  },
};

/** What ALPN offers: h2 only where the options allow it, and http/1.1 always, so a server
 * without h2 still completes the handshake and is described (then refused for "2"). */
const ALPN_HTTP1 = ['http/1.1'];
const ALPN_HTTP2_OR_1 = ['h2', 'http/1.1'];

/** A probe is its own Milestones record (one object less per target) and its own h2 owner. */
class TargetProbe implements Milestones, Settleable, Http2ExchangeOwner {
  readonly startAt: number;
  resolvedAt: number | null = null;
  connectedAt: number | null = null;
  securedAt: number | null = null;
  sentAt: number | null = null;
  firstByteAt: number | null = null;
  private readonly limits: ProbeLimits;
  private readonly reader: ResponseHeadReader;
  private readonly deadlineAt: number;
  private phase: ProbePhase = 'dns';
  private target: ParsedTarget | null = null;
  /** The connected socket (or, with one candidate, the one being dialled). */
  private socket: net.Socket | null = null;
  private candidates: readonly ResolvedAddress[] = [];
  private nextCandidate = 0;
  /** Sockets dialling at once when a name has several addresses (Happy Eyeballs); else null. */
  private racing: ProbeSocket[] | null = null;
  private attempts: ConnectAttempt[] | null = null;
  private attemptTimer: NodeJS.Timeout | null = null;
  private remote: RemoteEndpoint | null = null;
  private dnsFacts: DnsFacts | null = null;
  private tlsDetails: TlsDetails | null = null;
  /** Set once the connection speaks HTTP/2; the response head then comes from here. */
  private http2: Http2Exchange | null = null;
  private http2Head: Http2ResponseHead | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerCode: TimeoutCode = 'deadline_exceeded';
  private timerDueAt = 0;
  /** Set when the outcome is known and the clock stops; the result follows in settle(). */
  private finished = false;

  /** As the resolver's asker: a finished probe waits for no DNS answer. */
  get abandoned(): boolean {
    return this.finished;
  }
  private endAt = 0;
  private errorCode: ProbeErrorCode | null = null;
  private errorMessage = '';
  private resolvePromise!: (result: ProbeResult) => void;
  readonly promise: Promise<ProbeResult>;

  constructor(
    private readonly input: string,
    private readonly options: ProbeOptions,
    private readonly context: ProbeContext,
    /** Add findings and Alt-Svc to the result (not for a redirect hop: its chain is). */
    private readonly analysed = false,
  ) {
    this.limits = context.limits ?? defaultProbeLimits;
    this.reader = new ResponseHeadReader(this.limits);
    this.startAt = performance.now();
    this.deadlineAt = this.startAt + options.timeoutMs;
    this.promise = new Promise((resolve) => {
      this.resolvePromise = resolve;
    });
  }

  /**
   * The result of a target that was never probed (its job was cancelled while it queued, or
   * its probe broke): the same shape from the same place as every other result.
   */
  static unprobed(input: string, code: ProbeErrorCode, message: string): ProbeResult {
    const probe = new TargetProbe(input, UNPROBED_OPTIONS, UNPROBED_CONTEXT);
    probe.phase = 'queued';
    probe.errorCode = code;
    probe.errorMessage = message;
    probe.endAt = probe.startAt;
    return probe.result();
  }

  run(): Promise<ProbeResult> {
    const signal = this.context.signal;
    if (signal?.aborted) return this.finish('cancelled', 'probe cancelled before it started');
    signal?.addEventListener('abort', this.onAbort, { once: true });

    const parsed = parseTarget(this.input);
    if (!parsed.ok) {
      this.phase = 'parse';
      return this.finish('invalid_target', parsed.message);
    }
    this.target = parsed.target;
    const { hostname, port, ipFamily } = parsed.target;
    if (ipFamily !== 0) {
      this.resolvedAt = this.startAt; // an IP literal needs no lookup: dns = 0
      this.dial([{ address: hostname, family: ipFamily === 6 ? 'IPv6' : 'IPv4' }]);
      return this.promise;
    }
    const pinned = pinnedAddress(this.options.resolve, hostname, port);
    if (pinned !== undefined) {
      this.resolvedAt = this.startAt;
      const addresses = [
        { address: pinned, family: net.isIP(pinned) === 6 ? 'IPv6' : 'IPv4' },
      ] as const;
      this.dnsFacts = {
        source: 'pinned',
        name: hostname,
        cnames: [],
        addresses: [...addresses],
        ttl: null,
      };
      this.dial(addresses);
      return this.promise;
    }
    // The resolver owns DNS timeouts (per query, counted from when it was sent): here only the
    // deadline runs, so a wait for a free resolver slot ends as deadline_exceeded, not dns_timeout.
    this.armTimer(Number.POSITIVE_INFINITY, 'deadline_exceeded');
    let answer: Promise<DnsAnswer>;
    try {
      // The probe is its own asker: once it has finished, nobody waits for its queries.
      answer = this.context.resolver.resolve(hostname, {
        useCache: this.options.dnsCache,
        asker: this,
      });
    } catch (error) {
      return this.finish('internal_error', `resolver failed: ${String(error)}`);
    }
    // The catch also covers a throw inside onResolved: nothing may become an unhandled rejection.
    answer.then(this.onResolved).catch(this.onResolverBug);
    return this.promise;
  }

  private readonly onResolved = (answer: DnsAnswer): void => {
    if (this.finished) return;
    this.dnsFacts = answer.facts;
    if (!answer.ok) {
      this.finish(answer.code, answer.message);
      return;
    }
    if (answer.addresses.length === 0) {
      this.finish('dns_not_found', `${this.target!.hostname}: no addresses`);
      return;
    }
    this.resolvedAt = performance.now();
    // Dialled after the poll phase, with the other answers of this turn: connects issued in
    // one run wake the target's side once, where one per answer, between the reads of the
    // next answers, cost ~20 µs more each on a loaded machine (bench/README.md, Names).
    settleSoon(new DeferredDial(this, answer.addresses));
  };

  /** The second half of a lookup: dial, unless the probe ended meanwhile. */
  dialResolved(addresses: readonly ResolvedAddress[]): void {
    if (!this.finished) this.dial(addresses);
  }

  /**
   * Keeps the addresses the policy allows and dials them. Only vetted addresses are ever
   * dialled: no second lookup, so no DNS rebinding. One address is dialled directly; several
   * race as RFC 8305 says (families interleaved, IPv6 first, the next address after
   * CONNECTION_ATTEMPT_DELAY_MS or at once when one fails, the first connection wins).
   */
  private dial(addresses: readonly ResolvedAddress[]): void {
    this.phase = 'connect';
    const policy = this.context.policy;
    const port = this.target!.port;
    const allowed =
      policy === undefined
        ? addresses
        : addresses.filter((a) => policy.check(a.address, port).allowed);
    if (allowed.length === 0) {
      // Same words whatever the address, and no DNS facts: the answer must tell neither what
      // listens where nor what internal names resolve to.
      this.dnsFacts = null;
      this.finish('blocked_by_policy', 'destination not permitted by policy');
      return;
    }
    if (allowed.length < addresses.length && this.dnsFacts !== null) {
      this.dnsFacts = { ...this.dnsFacts, addresses: [...allowed] };
    }
    this.armTimer(this.limits.connectTimeoutMs, 'connect_timeout');
    if (allowed.length === 1) {
      this.candidates = allowed;
      this.socket = this.openAttempt(0);
      return;
    }
    this.candidates = interleaveFamilies(allowed).slice(0, MAX_ADDRESS_ATTEMPTS);
    this.racing = [];
    this.attempts = [];
    this.startNextAttempt();
  }

  /** Opens a socket to candidates[index]; null-safe for a socket that cannot even be made. */
  private openAttempt(index: number): ProbeSocket | null {
    const { address, family } = this.candidates[index]!;
    const { port, scheme } = this.target!;
    let socket: net.Socket;
    try {
      socket = this.openSocket(address, family === 'IPv6' ? 6 : 4, port, scheme);
    } catch (error) {
      this.finish('internal_error', `could not open a socket: ${String(error)}`);
      return null;
    }
    const probeSocket = socket as ProbeSocket;
    probeSocket[kProbe] = this;
    probeSocket[kCandidate] = index;
    socket.on('connect', onSocketConnect);
    socket.on('error', onSocketError);
    socket.on('end', onSocketEnd);
    return probeSocket;
  }

  private startNextAttempt(): void {
    if (this.attemptTimer !== null) clearTimeout(this.attemptTimer);
    this.attemptTimer = null;
    const index = this.nextCandidate++;
    const { address, family } = this.candidates[index]!;
    this.attempts!.push({
      address,
      family,
      startedAt: ms(performance.now() - this.startAt),
      outcome: 'abandoned',
      error: null,
    });
    const socket = this.openAttempt(index);
    if (socket === null) return;
    this.racing!.push(socket);
    if (this.nextCandidate < this.candidates.length) {
      this.attemptTimer = setTimeout(this.onAttemptDelay, CONNECTION_ATTEMPT_DELAY_MS);
    }
  }

  private readonly onAttemptDelay = (): void => {
    this.attemptTimer = null;
    if (!this.finished && this.racing !== null && this.nextCandidate < this.candidates.length) {
      this.startNextAttempt();
    }
  };

  /** Ends the race: `winner` (if any) is kept, every other attempt is closed. */
  private endRace(winner: ProbeSocket | null): void {
    if (this.attemptTimer !== null) clearTimeout(this.attemptTimer);
    this.attemptTimer = null;
    for (const socket of this.racing ?? []) if (socket !== winner) socket.destroy();
    this.racing = null;
  }

  /** A DnsResolver must not reject; if one does anyway, that is our bug, not the target's. */
  private readonly onResolverBug = (error: unknown): void => {
    if (!this.finished) this.finish('internal_error', `resolver failed: ${String(error)}`);
  };

  private openSocket(
    address: string,
    family: 4 | 6,
    port: number,
    scheme: 'http' | 'https',
  ): net.Socket {
    return scheme === 'https'
      ? this.connectTls(address, port)
      : net.connect({
          host: address,
          port,
          family,
          // No TCP_NODELAY (a syscall per socket): the request is one write, and Nagle never
          // holds back the first segment on a connection.
          autoSelectFamily: false,
          onread: plainReadOptions,
        });
  }

  private connectTls(address: string, port: number): tls.TLSSocket {
    const { hostname, ipFamily } = this.target!;
    // SNI carries names only (RFC 6066); for an IP target the certificate is checked against the IP.
    const servername = ipFamily === 0 ? hostname : null;
    const socket = tls.connect({
      host: address,
      port,
      servername: servername ?? '',
      secureContext: this.context.secureContext ?? sharedSecureContext(this.options.tlsVerify),
      // Verification is judged by us after the handshake so a bad certificate is still described.
      rejectUnauthorized: false,
      checkServerIdentity: (_host: string, cert: tls.PeerCertificate) =>
        tls.checkServerIdentity(hostname, cert),
      ALPNProtocols: offersHttp2(this.options) ? ALPN_HTTP2_OR_1 : ALPN_HTTP1,
    });
    socket.setNoDelay(true);
    socket.once('secureConnect', onSocketSecureConnect);
    socket.on('data', onSocketData);
    return socket;
  }

  onConnect(socket: ProbeSocket): void {
    if (this.finished) return;
    this.connectedAt = performance.now();
    const index = socket[kCandidate];
    if (this.racing !== null) {
      this.attempts![index]!.outcome = 'connected';
      this.endRace(socket);
      this.socket = socket;
    }
    const { address, family } = this.candidates[index]!;
    // The peer of a connected TCP socket is the address we dialled: no getpeername() needed.
    this.remote = { address, port: this.target!.port, family };
    if (this.target!.scheme === 'https') {
      this.phase = 'tls';
      this.armTimer(this.limits.tlsTimeoutMs, 'tls_timeout');
      return;
    }
    // Plain http speaks HTTP/2 only when asked for outright: prior knowledge (RFC 9113 §3.3).
    if (this.options.httpVersion === '2') this.startHttp2(socket, 'http');
    else this.sendRequest();
  }

  onSecureConnect(socket: tls.TLSSocket): void {
    if (this.finished) return;
    this.securedAt = performance.now();
    const { hostname, ipFamily } = this.target!;
    this.tlsDetails = describeTlsSession(socket, ipFamily === 0 ? hostname : null);
    if (this.options.tlsVerify && !this.tlsDetails.verified) {
      this.finish(
        'tls_error',
        `certificate verification failed: ${this.tlsDetails.verifyError ?? 'unknown reason'}`,
      );
      return;
    }
    const alpn = this.tlsDetails.alpn;
    if (alpn === 'h2' && offersHttp2(this.options)) {
      this.startHttp2(socket, 'https');
    } else if (this.options.httpVersion === '2') {
      this.finish(
        'http2_not_negotiated',
        `the server chose ${alpn === null ? 'no protocol' : alpn} via ALPN, not h2`,
      );
    } else {
      this.sendRequest();
    }
  }

  private startHttp2(socket: net.Socket, scheme: 'http' | 'https'): void {
    this.phase = 'request';
    this.armTimer(this.limits.headersTimeoutMs, 'headers_timeout');
    const target = this.target!;
    const headers = buildHttp2RequestHeaders(
      target,
      this.options,
      this.context.userAgent ?? defaultUserAgent,
    );
    try {
      this.http2 = new Http2Exchange(
        socket,
        `${scheme}://${target.authority}`,
        headers,
        this.limits,
        this,
      );
      this.http2.start();
    } catch (error) {
      this.finish('internal_error', `could not start HTTP/2: ${String(error)}`);
    }
  }

  onHttp2RequestWritten(): void {
    if (this.finished || this.sentAt !== null) return;
    this.sentAt = performance.now();
    this.phase = 'headers';
  }

  onHttp2HeadersStart(at: number): void {
    if (!this.finished && this.firstByteAt === null) this.firstByteAt = at;
  }

  onHttp2Response(head: Http2ResponseHead): void {
    if (this.finished) return;
    this.http2Head = head;
    this.finish(null, '');
  }

  onHttp2Failure(code: ProbeErrorCode, message: string): void {
    if (!this.finished) this.finish(code, message);
  }

  private sendRequest(): void {
    this.phase = 'request';
    this.armTimer(this.limits.headersTimeoutMs, 'headers_timeout');
    const head = buildRequestHead(
      this.target!,
      this.options,
      this.context.userAgent ?? defaultUserAgent,
    );
    this.socket!.write(head, 'latin1');
    this.sentAt = performance.now();
    this.phase = 'headers';
  }

  /** Returns false once the probe is over, which tells net to stop reading. */
  consume(buffer: Buffer, bytes: number): boolean {
    if (this.finished) return false;
    if (this.http2 !== null) {
      // A plain socket reads into the shared buffer; http2 keeps what it is given.
      const chunk = buffer.subarray(0, bytes);
      this.http2.receive(buffer === sharedReadBuffer ? Buffer.from(chunk) : chunk);
      return !this.finished;
    }
    if (this.firstByteAt === null) this.firstByteAt = performance.now();
    const progress = this.reader.push(buffer, 0, bytes);
    if (progress === HeadProgress.Complete) {
      this.finish(null, '');
    } else if (progress === HeadProgress.Failed) {
      const failure = this.reader.failure!;
      this.finish(failure.code, failure.message);
    }
    return !this.finished;
  }

  onEnd(): void {
    if (this.finished) return;
    if (this.http2 !== null) {
      this.http2.remoteEnded();
      return;
    }
    if (this.phase === 'tls') {
      this.finish('tls_error', 'connection closed during the TLS handshake');
    } else if (this.reader.sawAnyByte) {
      this.finish('connection_closed', 'connection closed before the response head ended');
    } else {
      this.finish('connection_closed', 'connection closed without a response');
    }
  }

  onSocketError(error: unknown, socket: ProbeSocket): void {
    if (this.finished) return;
    const classified = classifySocketError(error, this.phase);
    if (this.racing !== null && this.failAttempt(socket, classified.code)) return;
    this.finish(classified.code, classified.message);
  }

  /** One racing attempt failed: true while another is pending or can start now. */
  private failAttempt(socket: ProbeSocket, code: ProbeErrorCode): boolean {
    const attempt = this.attempts![socket[kCandidate]]!;
    attempt.outcome = 'failed';
    attempt.error = code;
    socket.destroy();
    const racing = this.racing!;
    const at = racing.indexOf(socket);
    if (at !== -1) racing.splice(at, 1);
    if (this.nextCandidate < this.candidates.length && performance.now() < this.deadlineAt) {
      this.startNextAttempt();
      return true;
    }
    return racing.length > 0;
  }

  private readonly onAbort = (): void => {
    if (!this.finished) this.finish('cancelled', 'probe cancelled');
  };

  /** One timer at a time: the phase's own timeout, or the overall deadline if that comes first. */
  private armTimer(phaseTimeoutMs: number, code: TimeoutCode): void {
    if (this.timer !== null) clearTimeout(this.timer);
    const now = performance.now();
    const untilDeadline = this.deadlineAt - now;
    const useDeadline = untilDeadline <= phaseTimeoutMs;
    this.timerCode = useDeadline ? 'deadline_exceeded' : code;
    const delay = Math.max(0, useDeadline ? untilDeadline : phaseTimeoutMs);
    this.timerDueAt = now + delay;
    this.timer = setTimeout(this.onTimer, delay);
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    if (this.finished) return;
    // libuv timers may fire up to a millisecond early by performance.now(); never time out early.
    const early = this.timerDueAt - performance.now();
    if (early > 0) {
      this.timer = setTimeout(this.onTimer, Math.ceil(early));
      return;
    }
    const code = this.timerCode;
    // A connect phase that timed out with addresses left dials the next one with a fresh timer.
    if (
      code === 'connect_timeout' &&
      this.racing !== null &&
      this.nextCandidate < this.candidates.length
    ) {
      this.armTimer(this.limits.connectTimeoutMs, 'connect_timeout');
      this.startNextAttempt();
      return;
    }
    const message =
      code === 'deadline_exceeded'
        ? `deadline of ${this.options.timeoutMs} ms exceeded during ${this.phase}`
        : `${this.phase} timed out`;
    this.finish(code, message);
  };

  /** Stops the clock at once; the costly rest waits for the settle queue (see there). */
  private finish(code: ProbeErrorCode | null, message: string): Promise<ProbeResult> {
    if (this.finished) return this.promise;
    this.finished = true;
    this.endAt = performance.now();
    this.errorCode = code;
    this.errorMessage = message;
    settleSoon(this);
    return this.promise;
  }

  /** Always resolves the probe: a cleanup step that throws still leaves one result. */
  settle(): void {
    let result: ProbeResult;
    try {
      if (this.timer !== null) clearTimeout(this.timer);
      this.context.signal?.removeEventListener('abort', this.onAbort);
      if (this.racing !== null) this.endRace(null);
      // An h2 connection closes once the stream's reset is out (see Http2Exchange.close).
      if (this.http2 !== null) this.http2.close();
      else this.socket?.destroy();
      result = this.result();
      if (this.analysed) addHeadAnalysis(result, this.options);
    } catch (error) {
      this.errorCode = 'internal_error';
      this.errorMessage = `probe cleanup failed: ${String(error)}`;
      result = this.result();
    }
    this.resolvePromise(result);
  }

  private result(): ProbeResult {
    const code = this.errorCode;
    const ok = code === null;
    const reader = this.reader;
    const target = this.target;
    const h2 = this.http2Head;
    return {
      target: this.input,
      url: target?.url ?? null,
      ok,
      httpVersion: h2 !== null ? '2' : reader.httpVersion,
      status: h2 !== null ? h2.status : reader.status,
      statusText: h2 !== null ? null : reader.statusText,
      headers: !ok ? [] : h2 !== null ? h2.headers : reader.headers,
      informational:
        h2 !== null
          ? h2.informational
          : this.http2 !== null
            ? this.http2.informational
            : reader.informational,
      remote: this.remote,
      dns: this.dnsFacts,
      connectAttempts: this.attempts ?? NO_ATTEMPTS,
      tls: this.tlsDetails,
      timing: buildTiming(this, this.endAt, target?.scheme === 'https', ok),
      redirects: [],
      finalUrl: target?.url ?? null,
      error: code === null ? null : { code, phase: this.phase, message: this.errorMessage },
      findings: NO_FINDINGS,
      score: null,
      grade: null,
      technologies: NO_TECHNOLOGIES,
      altSvc: null,
    };
  }
}

/** A resolved probe waiting in the settle queue to dial. */
class DeferredDial implements Settleable {
  constructor(
    private readonly probe: TargetProbe,
    private readonly addresses: readonly ResolvedAddress[],
  ) {}

  settle(): void {
    this.probe.dialResolved(this.addresses);
  }
}

function offersHttp2(options: ProbeOptions): boolean {
  return options.httpVersion === 'auto' || options.httpVersion === '2';
}

/** RFC 8305 §4: alternate the families, starting with IPv6, keeping each family's order. */
function interleaveFamilies(addresses: readonly ResolvedAddress[]): ResolvedAddress[] {
  const v6 = addresses.filter((a) => a.family === 'IPv6');
  const v4 = addresses.filter((a) => a.family === 'IPv4');
  const order: ResolvedAddress[] = [];
  for (let i = 0; i < Math.max(v6.length, v4.length); i++) {
    if (i < v6.length) order.push(v6[i]!);
    if (i < v4.length) order.push(v4[i]!);
  }
  return order;
}

/** See TargetProbe.unprobed. */
export function unprobedResult(input: string, code: ProbeErrorCode, message: string): ProbeResult {
  return TargetProbe.unprobed(input, code, message);
}

/** One request to one target, no redirects followed. Never throws or rejects. */
export function probeOnce(
  target: string,
  options: ProbeOptions,
  context: ProbeContext,
): Promise<ProbeResult> {
  return new TargetProbe(target, options, context, true).run();
}

/** probeOnce without findings or Alt-Svc: a redirect hop, analysed with its whole chain. */
export function probeOnceUnanalysed(
  target: string,
  options: ProbeOptions,
  context: ProbeContext,
): Promise<ProbeResult> {
  return new TargetProbe(target, options, context).run();
}
