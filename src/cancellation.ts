// Cancellation as the scheduler's runners and the probe hear it: the part of AbortSignal they
// need. AbortSignal fits it, and so does every scheduler Task: runners on the hot path listen
// on the task itself, because an AbortController per task (an EventTarget) costs ~20 µs of
// CPU at 10k tasks/s.
export interface CancellationSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}
