// Labelled form fields whose API problem is shown under them: the field says it is invalid
// and points to the message (aria-invalid, aria-describedby), as screen readers expect.

export function ErrorText({ id, message }: { id: string; message: string | undefined }) {
  return message === undefined ? null : (
    <p class="field-error" id={id} role="alert">
      {message}
    </p>
  );
}

/** What a field carries when `error` is set: invalid, and described by its message. */
export function describedBy(id: string, error: string | undefined) {
  return error === undefined
    ? {}
    : { 'aria-describedby': `${id}-error`, 'aria-invalid': true as const };
}

interface TextFieldProps {
  readonly id: string;
  readonly label: string;
  readonly value: string;
  readonly onInput: (value: string) => void;
  readonly error?: string;
  readonly type?: 'text' | 'password';
  readonly numeric?: boolean;
}

export function TextField({ id, label, value, onInput, error, type, numeric }: TextFieldProps) {
  return (
    <div>
      <label for={id}>{label}</label>
      <input
        id={id}
        type={type}
        inputMode={numeric ? 'numeric' : undefined}
        autoComplete={type === 'password' ? 'off' : undefined}
        value={value}
        onInput={(event) => onInput(event.currentTarget.value)}
        {...describedBy(id, error)}
      />
      <ErrorText id={`${id}-error`} message={error} />
    </div>
  );
}

interface SelectFieldProps<Value extends string> {
  readonly id: string;
  readonly label: string;
  readonly value: Value;
  readonly onChange: (value: Value) => void;
  /** [value, text] of each option, in order. */
  readonly options: ReadonlyArray<readonly [Value, string]>;
  readonly error?: string;
}

export function SelectField<Value extends string>({
  id,
  label,
  value,
  onChange,
  options,
  error,
}: SelectFieldProps<Value>) {
  return (
    <div>
      <label for={id}>{label}</label>
      <select
        id={id}
        value={value}
        onChange={(event) => onChange(event.currentTarget.value as Value)}
        {...describedBy(id, error)}
      >
        {options.map(([option, text]) => (
          <option key={option} value={option}>
            {text}
          </option>
        ))}
      </select>
      <ErrorText id={`${id}-error`} message={error} />
    </div>
  );
}

/** The API key, kept by the caller in session storage (never in a URL). */
export function ApiKeyField(props: Pick<TextFieldProps, 'value' | 'onInput' | 'error'>) {
  return (
    <TextField id="apiKey" label="API key (kept for this tab only)" type="password" {...props} />
  );
}
