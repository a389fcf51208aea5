// Work that grows with the job (sorting 10,000 rows, bucketing them) is redone at most a few
// times a second while results stream in, not once per animation frame.
import { useEffect, useRef, useState } from 'preact/hooks';

/** `version`, changed at most once per `ms`: the last value always shows in the end. */
export function useThrottled(version: number, ms: number): number {
  const [shown, setShown] = useState(version);
  const latest = useRef(version);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  latest.current = version;
  useEffect(() => {
    if (timer.current !== null || version === shown) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      setShown(latest.current);
    }, ms);
  }, [version, shown]);
  useEffect(
    () => () => {
      if (timer.current !== null) clearTimeout(timer.current);
    },
    [],
  );
  return shown;
}
