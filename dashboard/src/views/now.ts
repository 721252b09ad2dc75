// A clock for ages in lists: one timer for the page, re-rendering what shows ages every few seconds.

import { useEffect, useState } from 'preact/hooks';

export function useNow(everyMs = 5_000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
