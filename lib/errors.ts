/**
 * A user-facing error: bad input or a setup problem the user can fix. Its message says what and
 * where (file, line or field); `hint` says what to do. The CLI's error boundary
 * (lib/cli/main.ts) prints both on one line each, without a stack, and exits 1.
 */
export class InputError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = "InputError";
  }
}
