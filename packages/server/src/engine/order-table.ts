/**
 * The order table of one session: per-key order (docs/architecture.md §4.3) as a small multi-granularity lock
 * table over three levels, the catalog, each space and each object. An operation claims what its
 * footprint names (footprint.ts) and announces its intent on the levels above, so an object write
 * and a scan of its space meet on the space while writes of different objects never meet at all.
 *
 * Each resource keeps its claims in arrival order as a queue of groups: a claim joins the last
 * group when it is compatible with every claim still held there, else it opens a new group, and a
 * group's claims are granted once every group before it is done, or, where those only have to reach
 * the group committer first (writes and batched reads of one key), once they have started (`open`).
 * A claim compatible with everything still held on its resource is granted at once wherever it
 * stands (a read of an object behind an unrelated scan). An operation runs once all its claims are
 * granted; since every claim waits only for earlier ones, the session never deadlocks. The cost of a
 * claim does not depend on how many keys are in flight: one map lookup per level and a constant
 * amount of work per group (the granted claims of a resource are kept in one tally beside its
 * queue, so granting the group behind them asks that tally, not every group ahead).
 */
import type { Key } from '@spacekv/core';
import type { Target } from './footprint.js';

/**
 * Intent to read / to write below; read / write the whole resource; a write that goes through group
 * commit; a read of an object that goes through group commit behind the writes of it still there.
 */
const enum Mode { IntentRead, IntentWrite, Read, Write, CommittedWrite, CommittedRead }

const ALL_MODES = 0b111111;

/** A tally's count slots: one per mode of claims held, then (from here) one per mode of claims not started. */
const UNSTARTED = 6;

/** For each mode, the modes (as bits) it must not run beside. */
const CONFLICTS: readonly number[] = [
  (1 << Mode.Write) | (1 << Mode.CommittedWrite),
  (1 << Mode.Read) | (1 << Mode.Write),
  (1 << Mode.IntentWrite) | (1 << Mode.Write) | (1 << Mode.CommittedWrite),
  ALL_MODES,
  // Every object write goes through group commit, so a committed write on a space (add_space,
  // rm_space) may run beside the intent to write its objects: the committer orders them.
  (1 << Mode.IntentRead) | (1 << Mode.Read) | (1 << Mode.Write),
  1 << Mode.Write,
];

/**
 * For each mode, the modes it may run beside only once their operation has started: both go to the
 * group committer, which runs members in the order they reach it, so the later must reach it later.
 */
const SEQUENCED: readonly number[] = [
  0,
  1 << Mode.CommittedWrite,
  0,
  0,
  (1 << Mode.IntentWrite) | (1 << Mode.CommittedWrite) | (1 << Mode.CommittedRead),
  1 << Mode.CommittedWrite,
];

/** An operation waiting in the table: it runs when `waits` falls to 0. */
export interface Claimant {
  waits: number;
  /**
   * Set by the table for a read of an object whose writes are still in the committer: it runs as a
   * member of a batch, behind them, instead of waiting for their commit. That is what lets a
   * pipeline that alternates writes and reads of one key fill one batch.
   */
  batched: boolean;
}

/**
 * Claims per mode on a resource or in one of its groups: all of them, and those whose operation has
 * not started. Each count keeps a mask of its modes above zero beside it, so that `admits`, asked on
 * every claim of every operation, is two ANDs rather than two loops over the modes. The counts are
 * fields, not two arrays: a put makes five tallies (three groups, its space and its object), and a
 * literal array of constants is copy-on-write, so each tally allocated two arrays and, on its first
 * claim, two copies (about a fifth of the bytes the event loop allocated per REST put).
 */
class Tally {
  heldMask = 0;
  unstartedMask = 0;
  private held0 = 0;
  private held1 = 0;
  private held2 = 0;
  private held3 = 0;
  private held4 = 0;
  private held5 = 0;
  private unstarted0 = 0;
  private unstarted1 = 0;
  private unstarted2 = 0;
  private unstarted3 = 0;
  private unstarted4 = 0;
  private unstarted5 = 0;

  /** Whether a claim in `mode` may run beside every claim counted here. */
  admits(mode: Mode): boolean {
    return ((CONFLICTS[mode] as number) & this.heldMask) === 0 && ((SEQUENCED[mode] as number) & this.unstartedMask) === 0;
  }

  /** Whether any claim in `mode` is held. */
  holds(mode: Mode): boolean {
    return (this.heldMask & (1 << mode)) !== 0;
  }

  /** A claim in `mode` arrives: held, not started. */
  add(mode: Mode): void {
    this.countHeld(mode, 1);
    this.heldMask |= 1 << mode;
    this.countUnstarted(mode, 1);
    this.unstartedMask |= 1 << mode;
  }

  /** A claim in `mode` has its operation started. */
  start(mode: Mode): void {
    if (this.countUnstarted(mode, -1) === 0) this.unstartedMask &= ~(1 << mode);
  }

  /** A claim in `mode` is given back. */
  drop(mode: Mode): void {
    if (this.countHeld(mode, -1) === 0) this.heldMask &= ~(1 << mode);
  }

  /** Count here too every claim counted in `other` (a group granted whole). */
  absorb(other: Tally): void {
    for (let slot = 0; slot < 2 * UNSTARTED; slot++) {
      const n = other.count(slot, 0);
      if (n !== 0) this.count(slot, n);
    }
    this.heldMask |= other.heldMask;
    this.unstartedMask |= other.unstartedMask;
  }

  private countHeld(mode: Mode, delta: number): number {
    return this.count(mode, delta);
  }

  private countUnstarted(mode: Mode, delta: number): number {
    return this.count(mode + UNSTARTED, delta);
  }

  /** Add `delta` to the count in `slot` (a mode, or UNSTARTED past it) and return it. */
  private count(slot: number, delta: number): number {
    switch (slot) {
      case 0: return (this.held0 += delta);
      case 1: return (this.held1 += delta);
      case 2: return (this.held2 += delta);
      case 3: return (this.held3 += delta);
      case 4: return (this.held4 += delta);
      case 5: return (this.held5 += delta);
      case 6: return (this.unstarted0 += delta);
      case 7: return (this.unstarted1 += delta);
      case 8: return (this.unstarted2 += delta);
      case 9: return (this.unstarted3 += delta);
      case 10: return (this.unstarted4 += delta);
      default: return (this.unstarted5 += delta);
    }
  }
}

class Group extends Tally {
  size = 0;
  /** Its claims are granted (it is the head, or `open` granted it behind the head). */
  opened = false;
  /** Claims not yet granted, granted when this group is opened. */
  waiting: Claim[] = [];
}

class Resource extends Tally {
  groups: Group[] = [];
  /** The first group not done. */
  head = 0;
  /** The groups before this one (from `head`) have had their claims granted: the head, and those opened behind it (`open`). */
  opened = 0;
  /**
   * The claims of the opened groups, kept as they start and drop, so that `open` asks one tally
   * whether the next group may go rather than going over every opened group each time.
   */
  readonly granted = new Tally();
  /** The objects of a space (on a space's resource only). */
  readonly objects: Resources | undefined;

  /** @param home the resources that hold this one (none for the catalog), its name there, and the space it is an object of */
  constructor(withObjects: boolean, readonly home?: Resources, readonly name?: Key, readonly owner?: Resource) {
    super();
    this.objects = withObjects ? new Resources() : undefined;
  }

  get idle(): boolean {
    return this.head === this.groups.length && (this.objects === undefined || this.objects.size === 0);
  }
}

/**
 * Resources by name: a map that holds its first entry in fields. A REST connection has one request
 * in flight at a time, so its table held one space and one object, each in a Map that was made, or
 * grown and then shrunk (V8 halves a Map's table when a delete leaves it under a quarter full), on
 * every request. Names compare with ===, as Map's SameValueZero does for keys (strings, bigints).
 */
class Resources {
  private soleName: Key | undefined = undefined;
  private sole: Resource | undefined = undefined;
  private rest: Map<Key, Resource> | undefined = undefined;

  get size(): number {
    return (this.sole === undefined ? 0 : 1) + (this.rest === undefined ? 0 : this.rest.size);
  }

  get(name: Key): Resource | undefined {
    if (this.sole !== undefined && this.soleName === name) return this.sole;
    return this.rest?.get(name);
  }

  /** Add a resource under a name not held yet. */
  add(name: Key, resource: Resource): void {
    if (this.sole === undefined) {
      this.soleName = name;
      this.sole = resource;
    } else {
      (this.rest ??= new Map()).set(name, resource);
    }
  }

  delete(name: Key): void {
    if (this.sole !== undefined && this.soleName === name) {
      this.sole = undefined;
      this.soleName = undefined;
    } else {
      this.rest?.delete(name);
    }
  }
}

/** One granted or waiting claim of an operation on a resource. */
export class Claim {
  constructor(readonly claimant: Claimant, readonly resource: Resource, readonly mode: Mode, readonly group: Group) {}
}

export class OrderTable {
  private readonly catalog = new Resource(false);
  private readonly spaces = new Resources();

  /** @param ready called (synchronously, once) for each waiting claimant whose last claim is granted. */
  constructor(private readonly ready: (claimant: Claimant) => void) {}

  /** Claim a footprint; adds to `claimant.waits` what is not granted at once. */
  acquire(claimant: Claimant, footprint: readonly Target[]): Claim[] {
    const claims: Claim[] = [];
    if (footprint.length === 1) {
      // One target names each resource once (catalog, space, object): nothing to merge, so no map
      // (the usual case: a point read or write, where the map was a third of the table's time).
      this.want(footprint[0] as Target, claimant, (resource, mode) => claims.push(this.claim(claimant, resource, mode)));
      return claims;
    }
    const wanted = new Map<Resource, Mode>();
    for (const target of footprint) this.want(target, claimant, (resource, mode) => strongest(wanted, resource, mode));
    for (const [resource, mode] of wanted) claims.push(this.claim(claimant, resource, mode));
    return claims;
  }

  /**
   * Whether a read of one object would be granted at once, without claiming anything: the hot path
   * of a store that answers point reads synchronously (the read is over before anything else can
   * arrive, so it needs no place in the table).
   */
  readsNow(space: string, key: Key): boolean {
    if (!this.catalog.admits(Mode.IntentRead)) return false;
    const spaceResource = this.spaces.get(space);
    if (!spaceResource) return true;
    if (!spaceResource.admits(Mode.IntentRead)) return false;
    const object = spaceResource.objects?.get(key);
    return object === undefined || object.admits(Mode.Read);
  }

  /** Give back the claims of a finished operation; may grant (and report ready) later ones. */
  release(claims: readonly Claim[]): void {
    for (const claim of claims) this.drop(claim);
  }

  /** The resources a target touches (each once, from the catalog down), with the mode it needs on each. */
  private want(target: Target, claimant: Claimant, need: (resource: Resource, mode: Mode) => void): void {
    const write = target.writes;
    if (target.space === undefined) return need(this.catalog, write ? Mode.Write : Mode.Read);
    need(this.catalog, write ? Mode.IntentWrite : Mode.IntentRead);
    const space = resourceOf(this.spaces, target.space, true);
    if (target.key === undefined) return need(space, !write ? Mode.Read : target.committed ? Mode.CommittedWrite : Mode.Write);
    need(space, write ? Mode.IntentWrite : Mode.IntentRead);
    const object = resourceOf(space.objects as Resources, target.key, false, space);
    if (write) return need(object, target.committed ? Mode.CommittedWrite : Mode.Write);
    // Only get and get_partial read an object: a lone read, which the engine can run as a batch member.
    const behindCommits = object.holds(Mode.CommittedWrite);
    if (behindCommits) claimant.batched = true;
    need(object, behindCommits ? Mode.CommittedRead : Mode.Read);
  }

  private claim(claimant: Claimant, resource: Resource, mode: Mode): Claim {
    const grantable = resource.admits(mode);
    let group = resource.head < resource.groups.length ? resource.groups[resource.groups.length - 1] as Group : undefined;
    // A claim that must wait never joins a group already granted: it waits in a group of its own,
    // which `open` grants as soon as the claims ahead allow.
    if (!group || !group.admits(mode) || (!grantable && resource.opened === resource.groups.length)) {
      group = new Group();
      resource.groups.push(group);
      if (resource.groups.length - 1 === resource.head) { // the head group is granted
        resource.opened = resource.groups.length;
        group.opened = true;
      }
    }
    group.add(mode);
    resource.add(mode);
    if (group.opened) resource.granted.add(mode);
    group.size++;
    const claim = new Claim(claimant, resource, mode, group);
    if (!grantable) {
      group.waiting.push(claim);
      claimant.waits++;
    }
    return claim;
  }

  /** The claims' operation has started: writes after it may now reach the committer too. */
  started(claims: readonly Claim[]): void {
    for (const { resource, group, mode } of claims) {
      group.start(mode);
      resource.start(mode);
      if (group.opened) resource.granted.start(mode);
      this.open(resource);
    }
  }

  /**
   * Grant the groups behind the granted ones whose claims the claims ahead of them no longer hold
   * up. A group waits behind a conflict (a write behind a read still running) until the groups
   * ahead are done; behind what only has to reach the committer first (a write behind a write or
   * a batched read of its key), it waits only until those have started. So a key's alternating
   * writes and reads, once the first is in the committer, all reach it in order without waiting
   * for one another's commits. Checks nothing while no group waits (the usual case).
   */
  private open(resource: Resource): void {
    const { groups, granted } = resource;
    while (resource.opened < groups.length) {
      const next = groups[resource.opened] as Group;
      if (!admitsEvery(next.heldMask, granted.heldMask, granted.unstartedMask)) return;
      resource.opened++;
      this.grant(resource, next);
    }
  }

  /** Grant a group's waiting claims; from now on its claims count among the resource's granted ones. */
  private grant(resource: Resource, group: Group): void {
    group.opened = true;
    resource.granted.absorb(group);
    const waiting = group.waiting;
    group.waiting = [];
    for (const claim of waiting) {
      if (--claim.claimant.waits === 0) this.ready(claim.claimant);
    }
  }

  private drop(claim: Claim): void {
    const { resource, group, mode } = claim;
    group.drop(mode);
    group.size--;
    resource.drop(mode);
    if (group.opened) resource.granted.drop(mode);
    if (group === resource.groups[resource.head] && group.size === 0) this.advance(resource);
    forgetIfIdle(resource);
  }

  /** The head group is done: grant the next one that still holds claims. */
  private advance(resource: Resource): void {
    while (resource.head < resource.groups.length && (resource.groups[resource.head] as Group).size === 0) resource.head++;
    if (resource.head === resource.groups.length) {
      resource.groups = [];
      resource.head = 0;
      resource.opened = 0;
      return;
    }
    if (resource.head >= 64 && resource.head * 2 >= resource.groups.length) {
      resource.groups = resource.groups.slice(resource.head); // a resource busy for long keeps a short queue
      resource.opened -= resource.head;
      resource.head = 0;
    }
    if (resource.opened <= resource.head) {
      resource.opened = resource.head + 1;
      this.grant(resource, resource.groups[resource.head] as Group);
    }
    this.open(resource);
  }
}

/** Whether claims in every mode of `modes` (a mask) may run beside claims held in `held` and not started in `unstarted`. */
function admitsEvery(modes: number, held: number, unstarted: number): boolean {
  for (let mode = 0; modes >> mode !== 0; mode++) {
    if (((modes >> mode) & 1) === 0) continue;
    if (((CONFLICTS[mode] as number) & held) !== 0 || ((SEQUENCED[mode] as number) & unstarted) !== 0) return false;
  }
  return true;
}

function resourceOf(home: Resources, name: Key, withObjects: boolean, owner?: Resource): Resource {
  let resource = home.get(name);
  if (!resource) {
    resource = new Resource(withObjects, home, name, owner);
    home.add(name, resource);
  }
  return resource;
}

/** Drop an idle resource from its home, and its space once that is idle too: the table holds only what is in flight. */
function forgetIfIdle(resource: Resource): void {
  const home = resource.home;
  if (!home || !resource.idle) return;
  home.delete(resource.name as Key);
  if (resource.owner) forgetIfIdle(resource.owner);
}

function strongest(wanted: Map<Resource, Mode>, resource: Resource, mode: Mode): void {
  const had = wanted.get(resource);
  if (had === undefined || (RANK[mode] as number) > (RANK[had] as number)) wanted.set(resource, mode);
}

/** Within one operation's footprint a stronger claim covers a weaker one on the same resource. */
const RANK: readonly number[] = [1, 2, 3, 4, 3, 3];
