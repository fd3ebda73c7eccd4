/** JSON-RPC 2.0 error codes, as Buildbot's www/rest.py uses them. */
export const JSONRPC_CODES = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
} as const;

/**
 * A control request that fails: the HTTP status and JSON-RPC code it is answered with. `message` may be
 * an object (Buildbot sends the per-field errors of a force that way).
 */
export class JsonRpcError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    readonly rpcMessage: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof rpcMessage === 'string' ? rpcMessage : JSON.stringify(rpcMessage));
    this.name = 'JsonRpcError';
  }
}
