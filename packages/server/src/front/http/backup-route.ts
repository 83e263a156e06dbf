/**
 * `GET /v1/backup`: an online backup of a live server, streamed to the caller as one backup file
 * (ops/backup-file.ts: manifest with seq and checksum, then the snapshot). The snapshot holds every
 * write acknowledged before the request and is consistent at one seq; writes go on meanwhile, the
 * writer never waiting for it. The copy the store made for it is removed when the response ends,
 * whether it was read to the end or cut.
 */
import type { FastifyInstance } from 'fastify';
import { authorize } from '../../auth/authenticator.js';
import { backupBytes, manifestOf } from '../../ops/backup-file.js';
import type { HttpContext } from './context.js';

export function registerBackupRoute(app: FastifyInstance, ctx: HttpContext): void {
  app.get('/v1/backup', async (request, reply) => {
    // A backup holds every space (the token records too): it takes admin on all of them.
    authorize(request.access, [{ right: 'admin' }]);
    const snapshot = await ctx.engine.backupSnapshot();
    try {
      const manifest = await manifestOf(snapshot);
      request.log.info({ seq: manifest.seq, bytes: manifest.bytes }, 'backup taken');
      const body = backupBytes(manifest, snapshot.path);
      body.once('close', () => snapshot.release());
      return await reply
        .type('application/octet-stream')
        .header('spacekv-backup-seq', String(manifest.seq))
        .header('content-disposition', `attachment; filename="spacekv-${manifest.seq}.backup"`)
        .send(body);
    } catch (err) {
      snapshot.release();
      throw err;
    }
  });
}
