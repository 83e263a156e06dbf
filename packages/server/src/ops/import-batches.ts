/**
 * The import's transactions (import.ts): objects gather into a batch until it holds `objects`
 * objects or `bytes` of NDJSON, then the batch goes to the server as one `tx`; up to `window`
 * batches are in flight at once, so reading and parsing the file overlaps the server's commits
 * (and batches share its group commits). Batches retire in file order: the saved position moves
 * past a batch only once it and every batch before it committed, so a resumed run never skips an
 * object (it may write a few again, which puts by key make harmless).
 */
import { type SpacekvClient, SpacekvError } from '@spacekv/client';

export interface BatchBounds {
  readonly objects: number;
  readonly bytes: number;
  /** Transactions in flight at once. */
  readonly window: number;
}

/** Where the file is committed through: every object line up to `line`, `objects` objects in all. */
export type Committed = (line: number, objects: number) => void;

interface Sent {
  readonly firstLine: number;
  readonly lastLine: number;
  readonly objects: number;
  readonly count: number;
  /** Never rejects: a rejection waiting in the window must not go unhandled. */
  readonly outcome: Promise<SpacekvError | undefined>;
}

export class ImportBatches {
  /** Objects the server committed. */
  imported = 0;
  private ops: Record<string, unknown>[] = [];
  private bytes = 0;
  private firstLine = 0;
  private readonly window: Sent[] = [];
  private failure: SpacekvError | undefined;

  constructor(private readonly client: SpacekvClient, private readonly bounds: BatchBounds, private readonly committed: Committed) {}

  /** Add the put of line `line`; `objects` counts the object lines read so far. */
  async add(op: Record<string, unknown>, textBytes: number, line: number, objects: number): Promise<void> {
    if (this.ops.length === 0) this.firstLine = line;
    this.ops.push(op);
    this.bytes += textBytes;
    if (this.ops.length >= this.bounds.objects || this.bytes >= this.bounds.bytes) await this.send(line, objects);
  }

  /** Send what is gathered, and wait until everything sent committed; the position moves to `line`. Throws the first failure. */
  async drain(line: number, objects: number): Promise<void> {
    await this.send(line, objects);
    while (this.window.length > 0) await this.retireOldest();
    if (this.failure) throw this.failure;
    this.committed(line, objects);
  }

  private async send(lastLine: number, objects: number): Promise<void> {
    if (this.ops.length > 0 && !this.failure) {
      const ops = this.ops;
      const firstLine = this.firstLine;
      const outcome = this.client.tx({ ops }).then(() => undefined, (err: unknown) => {
        const e = err instanceof SpacekvError ? err : new SpacekvError('unavailable', (err as Error).message);
        return new SpacekvError(e.code, `lines ${firstLine}-${lastLine} were not imported: ${e.message}; everything before line ${firstLine} was. Run again to resume`);
      });
      this.window.push({ firstLine, lastLine, objects, count: ops.length, outcome });
    }
    this.ops = [];
    this.bytes = 0;
    while (this.window.length >= this.bounds.window) await this.retireOldest();
    if (this.failure) throw this.failure;
  }

  /** Wait for the oldest batch; the position moves past it only while nothing before it failed. */
  private async retireOldest(): Promise<void> {
    const oldest = this.window.shift() as Sent;
    const error = await oldest.outcome;
    if (error) this.failure ??= error;
    else this.imported += oldest.count;
    if (!this.failure) this.committed(oldest.lastLine, oldest.objects);
  }
}
