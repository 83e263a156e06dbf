/** An in-process server on a fresh data directory and a free loopback port, for the REST tests. */
import { DEFAULT_CONFIG } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { makeTempDir, removeDir } from './temp.js';

export interface TestServer {
  readonly url: string;
  readonly server: RunningServer;
  readonly dataDir: string;
  /** Drain the server and remove its data directory. */
  stop(): Promise<void>;
}

export async function startTestServer(name: string): Promise<TestServer> {
  const dataDir = makeTempDir(name);
  const server = await startServer({ ...DEFAULT_CONFIG, port: 0, dataDir, logLevel: 'silent' });
  return {
    url: server.url,
    server,
    dataDir,
    async stop() {
      try {
        await server.close();
      } finally {
        removeDir(dataDir);
      }
    },
  };
}
