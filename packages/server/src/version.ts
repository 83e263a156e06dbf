/** The server's version, as `--version` and the WebSocket hello report it. */
export const SERVER_VERSION = '0.1.0';
