/**
 * A data API request that cannot be answered: the HTTP status (400 bad query, 404 no such path or
 * resource) and the message, sent as Buildbot does, `{"error": "<message>"}`.
 */
export class ApiError extends Error {
  readonly expose = true;
  constructor(
    readonly status: 400 | 404 | 405,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}
