/** A failure at start that a person can act on: printed as one line, no stack trace. */
export class StartupError extends Error {}
