/** A background job run at once and then on a timer: the budget alerter, partition maintenance. */
export interface Periodic {
  /** One round now, or the round already running (rounds never overlap). */
  tick(): Promise<void>;
  /** No more rounds; resolves once a running one has ended. */
  stop(): Promise<void>;
}

/**
 * Runs `round` now and then every `everyMs` (the timer does not keep the process alive). A round that
 * throws is handed to `onError` and the next one runs as planned; `round` may ask `stopped()` to end a
 * long round early.
 */
export function startPeriodic(
  round: (stopped: () => boolean) => Promise<void>,
  everyMs: number,
  onError?: (e: unknown) => void,
): Periodic {
  let running: Promise<void> | null = null;
  let stopped = false;
  const isStopped = () => stopped;
  const tick = () => {
    running ??= round(isStopped)
      .catch((e) => onError?.(e))
      .finally(() => {
        running = null;
      });
    return running;
  };
  const timer = setInterval(() => {
    if (!stopped) void tick();
  }, everyMs);
  timer.unref?.();
  void tick();
  return {
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
