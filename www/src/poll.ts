/** Run `fn` now and every `ms` while the page is shown; never two at once. Returns the stop. */
export function poll(fn: () => Promise<unknown>, ms: number): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async () => {
    try {
      await fn();
    } catch (err) {
      console.warn('refresh failed', err);
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  void tick();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
