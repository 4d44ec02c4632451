/** The one source of "now" in core, so tests can pin it. */
let nowFn: () => Date = () => new Date();

export const now = (): Date => nowFn();

/** Tests only: pin the clock (pass null to restore the real one). */
export function setClock(fn: (() => Date) | null): void {
  nowFn = fn ?? (() => new Date());
}
