// Submit: the targets (typed, pasted or dropped as a file), the common job options, and the
// API key when the service asks for one. A problem from the API is shown next to the field
// it names (`errors[].field`, e.g. body.options.timeoutMs); the rest above the button.
import { useEffect, useState } from 'preact/hooks';
import { api, apiKey, type JobSubmissionBody, type Problem } from '../api';
import { navigate } from '../router';
import { ApiKeyField, describedBy, ErrorText, SelectField, TextField } from './fields';

type Field =
  | 'targets'
  | 'method'
  | 'httpVersion'
  | 'timeoutMs'
  | 'followRedirects'
  | 'tlsVerify'
  | 'concurrency'
  | 'concurrencyPerDestination'
  | 'apiKey';

type FieldErrors = Partial<Record<Field, string>>;

/** `body.targets.3` → targets, `body.options.timeoutMs` → timeoutMs. */
function fieldOf(path: string): Field | null {
  if (path.startsWith('body.targets')) return 'targets';
  const option = /^body\.options\.(\w+)/.exec(path)?.[1];
  const fields: Field[] = [
    'method',
    'httpVersion',
    'timeoutMs',
    'followRedirects',
    'tlsVerify',
    'concurrency',
    'concurrencyPerDestination',
  ];
  return option !== undefined && (fields as string[]).includes(option) ? (option as Field) : null;
}

type HttpVersion = 'auto' | '2' | '1.1' | '1.0';

const METHODS = [
  ['GET', 'GET'],
  ['HEAD', 'HEAD'],
] as const;
const HTTP_VERSIONS: ReadonlyArray<readonly [HttpVersion, string]> = [
  ['auto', 'auto (h2 by ALPN, else 1.1)'],
  ['2', '2 only'],
  ['1.1', '1.1 only'],
  ['1.0', '1.0'],
];

const targetsOf = (text: string) =>
  text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

export function SubmitForm() {
  const [targets, setTargets] = useState('');
  const [method, setMethod] = useState<'GET' | 'HEAD'>('GET');
  const [httpVersion, setHttpVersion] = useState<HttpVersion>('auto');
  const [timeoutMs, setTimeoutMs] = useState('10000');
  const [followRedirects, setFollowRedirects] = useState('0');
  const [tlsVerify, setTlsVerify] = useState(true);
  const [concurrency, setConcurrency] = useState('');
  const [perDestination, setPerDestination] = useState('');
  const [key, setKey] = useState(apiKey.get());
  const [keysOn, setKeysOn] = useState(false);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // Whether the service wants a key: an open one lists jobs without one.
  useEffect(() => {
    void api.GET('/v1/jobs', { params: { query: { limit: 1 } } }).then(({ response }) => {
      if (response.status === 401) setKeysOn(true);
    });
  }, []);

  const described = (field: Field) => describedBy(field, errors[field]);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    setFormError(null);
    apiKey.set(key.trim());
    const number = (text: string) => (text.trim() === '' ? undefined : Number(text));
    const body: JobSubmissionBody = {
      targets: targetsOf(targets),
      options: {
        method,
        httpVersion,
        timeoutMs: number(timeoutMs),
        followRedirects: number(followRedirects),
        tlsVerify,
        concurrency: number(concurrency),
        concurrencyPerDestination: number(perDestination),
      },
    };
    const { data, error, response } = await api.POST('/v1/jobs', { body }).catch(() => ({
      data: undefined,
      error: undefined,
      response: undefined,
    }));
    setBusy(false);
    if (data !== undefined) {
      navigate(`/jobs/${encodeURIComponent(data.id)}`);
      return;
    }
    if (response === undefined) {
      setFormError('The service could not be reached.');
      return;
    }
    const problem = error as Problem | undefined;
    if (response.status === 401) {
      setKeysOn(true);
      setErrors({ apiKey: problem?.detail ?? 'A valid API key is required.' });
      return;
    }
    const byField: FieldErrors = {};
    const rest: string[] = [];
    for (const item of problem?.errors ?? []) {
      const field = fieldOf(item.field);
      if (field === null) rest.push(`${item.field}: ${item.message}`);
      else byField[field] ??= item.message;
    }
    setErrors(byField);
    if (rest.length > 0 || Object.keys(byField).length === 0)
      setFormError(
        [problem?.detail ?? `The service answered ${response.status}.`, ...rest].join(' '),
      );
  }

  async function dropped(event: DragEvent) {
    const file = event.dataTransfer?.files[0];
    if (file === undefined) return;
    event.preventDefault();
    setTargets(await file.text());
  }

  return (
    <section aria-labelledby="submit-title" class="panel">
      <h1 id="submit-title">Probe a list of targets</h1>
      <form onSubmit={submit} noValidate>
        <label for="targets">
          Targets, one per line (host, host:port or URL; drop a file here)
        </label>
        <textarea
          id="targets"
          name="targets"
          rows={8}
          value={targets}
          onInput={(event) => setTargets(event.currentTarget.value)}
          onDragOver={(event) => event.preventDefault()}
          onDrop={dropped}
          {...described('targets')}
        />
        <ErrorText id="targets-error" message={errors.targets} />
        <label class="file">
          Or load a file
          <input
            type="file"
            accept=".txt,.csv,text/plain"
            onChange={async (event) => {
              const file = event.currentTarget.files?.[0];
              if (file !== undefined) setTargets(await file.text());
            }}
          />
        </label>
        <fieldset>
          <legend>Options</legend>
          <div class="options">
            <SelectField
              id="method"
              label="Method"
              value={method}
              onChange={setMethod}
              options={METHODS}
              error={errors.method}
            />
            <SelectField
              id="httpVersion"
              label="HTTP version"
              value={httpVersion}
              onChange={setHttpVersion}
              options={HTTP_VERSIONS}
              error={errors.httpVersion}
            />
            <TextField
              id="timeoutMs"
              label="Timeout per target (ms)"
              numeric
              value={timeoutMs}
              onInput={setTimeoutMs}
              error={errors.timeoutMs}
            />
            <TextField
              id="followRedirects"
              label="Redirects to follow"
              numeric
              value={followRedirects}
              onInput={setFollowRedirects}
              error={errors.followRedirects}
            />
            <TextField
              id="concurrency"
              label="Concurrency (blank: the service's)"
              numeric
              value={concurrency}
              onInput={setConcurrency}
              error={errors.concurrency}
            />
            <TextField
              id="concurrencyPerDestination"
              label="Per host:port (blank: the service's)"
              numeric
              value={perDestination}
              onInput={setPerDestination}
              error={errors.concurrencyPerDestination}
            />
            <div class="check">
              <input
                id="tlsVerify"
                type="checkbox"
                checked={tlsVerify}
                onChange={(event) => setTlsVerify(event.currentTarget.checked)}
                {...described('tlsVerify')}
              />
              <label for="tlsVerify">Verify TLS certificates</label>
              <ErrorText id="tlsVerify-error" message={errors.tlsVerify} />
            </div>
          </div>
        </fieldset>
        {keysOn || key !== '' ? (
          <ApiKeyField value={key} onInput={setKey} error={errors.apiKey} />
        ) : null}
        {formError === null ? null : (
          <p class="form-error" role="alert">
            {formError}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Submitting…' : 'Probe'}
        </button>
      </form>
    </section>
  );
}
