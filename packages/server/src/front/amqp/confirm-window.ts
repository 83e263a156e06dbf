/**
 * Publisher confirms, in publish order: which seq the relay may record as published. A seq counts
 * only when every change of it is confirmed and every seq before it is too, so the durable cursor
 * never passes an event the broker has not taken (docs/architecture.md §4.6). Confirms may come in any order.
 */
export interface InFlight {
  readonly seq: number;
  left: number;
}

export class ConfirmWindow {
  private readonly queue: InFlight[] = [];
  private head = 0;
  private messages = 0;

  constructor(private confirmed: number) {}

  /** The highest seq whose changes, and all before it, are confirmed. */
  get confirmedSeq(): number {
    return this.confirmed;
  }

  /** Messages published and not yet confirmed. */
  get size(): number {
    return this.messages;
  }

  /** A message of `seq` was published (seqs arrive in log order); confirm it with the handle. */
  add(seq: number): InFlight {
    const last = this.queue[this.queue.length - 1];
    this.messages++;
    if (last && this.queue.length > this.head && last.seq === seq) {
      last.left++;
      return last;
    }
    const entry = { seq, left: 1 };
    this.queue.push(entry);
    return entry;
  }

  /** The broker confirmed one message of `entry`; answers whether confirmedSeq moved. */
  confirm(entry: InFlight): boolean {
    entry.left--;
    this.messages--;
    let moved = false;
    while (this.head < this.queue.length && (this.queue[this.head] as InFlight).left === 0) {
      this.confirmed = (this.queue[this.head++] as InFlight).seq;
      moved = true;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return moved;
  }
}
