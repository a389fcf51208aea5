// Waiting on a promise for at most a while: the timer is cleared either way, so a wait that
// ends early leaves nothing to keep the process alive.

/** Resolves when `promise` settles or after `timeoutMs`, whichever comes first. */
export async function settleWithin(promise: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
