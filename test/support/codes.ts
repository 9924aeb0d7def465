/**
 * The code a call ends with: the error's string `code` (a TenancyError's), the error as a string otherwise,
 * `'resolved'` when it returns. A call (sync or async) or a promise; what throws synchronously counts as a rejection.
 */
export function codeOf(call: Promise<unknown> | (() => unknown)): Promise<unknown> {
  return Promise.resolve()
    .then(() => (typeof call === 'function' ? call() : call))
    .then(
      () => 'resolved',
      (error: unknown) => {
        const code = (error as { code?: unknown } | null)?.code;
        return typeof code === 'string' ? code : String(error);
      },
    );
}
