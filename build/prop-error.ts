import { Construct } from 'constructs';

// The constructs' one way to fail on a prop: an error that names the construct's prop, the value received and what is
// expected, which synthesis prints on one line, without a stack trace, before anything is written.

/** An error about a prop: synthesis prints its message on one line, without a stack trace. */
export interface PropError extends Error {
  readonly propError: true;
  /** The path in the app of the construct whose prop it is, once known. */
  readonly at?: string;
}

export function isPropError(error: unknown): error is PropError {
  return error instanceof Error && (error as PropError).propError === true;
}

export function propError(message: string, at?: string): PropError {
  return Object.assign(new Error(message), { propError: true as const, at });
}

/** Throws the standard prop error. */
export function invalid(prop: string, value: unknown, expected: string): never {
  throw propError(`invalid ${prop}: got ${JSON.stringify(value)}, expected ${expected}`);
}

/**
 * Runs a construct's body; a prop error thrown in it is thrown again with the construct's path in the app before its
 * message (`app-secrets/nextcloud-db: invalid AppSecret ...`), so the user knows which statement of main.ts to fix.
 */
export function validating<T>(scope: Construct, body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (!isPropError(error) || error.at !== undefined) throw error;
    throw propError(`${scope.node.path}: ${error.message}`, scope.node.path);
  }
}
