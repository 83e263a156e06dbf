/**
 * A linear-time regular-expression matcher for the `regex` predicate.
 *
 * Patterns come from untrusted clients, so JavaScript's backtracking `RegExp` is never used on them:
 * `(a+)+$` against `'aaa…ab'` takes exponential time there. Here a pattern is parsed into a small
 * program and run by a Pike VM (Thompson NFA simulation): every input position advances all live
 * threads at once, and a program counter is live at most once per position, so a test costs
 * O(input length × program size) with no backtracking at all.
 *
 * The supported subset, with the meaning of JavaScript `RegExp` with the `u` flag (code points, not
 * UTF-16 units; no `i`, `m` or `s` flag):
 * - literals; `.` (any code point except `\n \r \u2028 \u2029`); anchors `^ $` (input start/end);
 *   word boundaries `\b \B`;
 * - classes `[a-z]`, `[^…]`, `[]` (nothing), `[^]` (anything), with escapes inside;
 * - escapes `\d \D \w \W \s \S`, `\n \r \t \f \v \0`, `\xHH`, `\uHHHH`, `\u{H…}`, and any ASCII
 *   punctuation escaped to itself (`\. \* \- \/` …);
 * - groups `( )` and `(?: )` (both non-capturing: a test only answers yes or no), alternation `|`;
 * - quantifiers `* + ?` and `{m}` `{m,}` `{m,n}` (m, n ≤ 1000), each optionally lazy (`*?`), which
 *   changes nothing for a yes/no test.
 * Not supported (refused as `invalid_predicate`): backreferences, lookaround, named groups, flags.
 * A lone `{ } ]` is an error, as in `u` mode. Search semantics: unanchored unless `^`/`$` say
 * otherwise, like `RegExp.prototype.test`.
 */
import { fail } from './errors.js';

/** Most instructions one compiled pattern may have; it bounds the per-character cost of a test. */
export const REGEX_PROGRAM_MAX = 10_000;
/** Longest pattern accepted, in UTF-16 units; parsing is linear but the AST is kept in memory. */
export const REGEX_PATTERN_LENGTH_MAX = 10_000;
const REPEAT_MAX = 1000;
const NESTING_MAX = 100;
const CACHE_MAX = 256;
const CODE_POINT_MAX = 0x10ffff;

/** Flat sorted inclusive pairs `[lo0, hi0, lo1, hi1, …]`, disjoint and not adjacent. */
type Ranges = readonly number[];
type AssertKind = 'start' | 'end' | 'word' | 'not_word';

type Node =
  | { readonly type: 'empty' }
  | { readonly type: 'class'; readonly ranges: Ranges }
  | { readonly type: 'assert'; readonly kind: AssertKind }
  | { readonly type: 'concat'; readonly items: readonly Node[] }
  | { readonly type: 'alt'; readonly items: readonly Node[] }
  | { readonly type: 'repeat'; readonly node: Node; readonly min: number; readonly max: number };

type Inst =
  | { readonly op: 'class'; readonly ranges: Ranges }
  | { readonly op: 'split'; readonly x: number; y: number }
  | { readonly op: 'jmp'; x: number }
  | { readonly op: 'assert'; readonly kind: AssertKind }
  | { readonly op: 'match' };

/** A compiled pattern; opaque outside this module. */
export interface RegexProgram {
  readonly pattern: string;
  readonly insts: readonly Inst[];
  /** The program starts with `^`, so threads need only start at position 0. */
  readonly anchored: boolean;
}

// ---------------------------------------------------------------------------------------------
// Code point sets

function normalize(pairs: number[]): Ranges {
  const spans: [number, number][] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) spans.push([pairs[i] as number, pairs[i + 1] as number]);
  spans.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of spans) {
    const last = out.length - 1;
    if (last > 0 && lo <= (out[last] as number) + 1) out[last] = Math.max(out[last] as number, hi);
    else out.push(lo, hi);
  }
  return out;
}

function negate(ranges: Ranges): Ranges {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i + 1 < ranges.length; i += 2) {
    const lo = ranges[i] as number;
    if (lo > next) out.push(next, lo - 1);
    next = (ranges[i + 1] as number) + 1;
  }
  if (next <= CODE_POINT_MAX) out.push(next, CODE_POINT_MAX);
  return out;
}

function inRanges(ranges: Ranges, cp: number): boolean {
  let lo = 0;
  let hi = ranges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < (ranges[2 * mid] as number)) hi = mid - 1;
    else if (cp > (ranges[2 * mid + 1] as number)) lo = mid + 1;
    else return true;
  }
  return false;
}

const DIGIT: Ranges = [0x30, 0x39];
const WORD: Ranges = normalize([0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a]);
// JavaScript's \s: WhiteSpace and LineTerminator.
const SPACE: Ranges = normalize([
  0x09, 0x0d, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f,
  0x3000, 0x3000, 0xfeff, 0xfeff,
]);
const DOT: Ranges = negate(normalize([0x0a, 0x0a, 0x0d, 0x0d, 0x2028, 0x2029]));

const CLASS_ESCAPES: ReadonlyMap<string, Ranges> = new Map([
  ['d', DIGIT], ['D', negate(DIGIT)], ['w', WORD], ['W', negate(WORD)], ['s', SPACE], ['S', negate(SPACE)],
]);
const CONTROL_ESCAPES: ReadonlyMap<string, number> = new Map([['n', 0x0a], ['r', 0x0d], ['t', 0x09], ['f', 0x0c], ['v', 0x0b]]);

function isWordChar(cp: number): boolean {
  return cp >= 0 && inRanges(WORD, cp);
}

// ---------------------------------------------------------------------------------------------
// Parser: pattern text -> Node

/** An escape inside or outside a class is either one code point or a set of them. */
type Escaped = { readonly cp: number } | { readonly ranges: Ranges } | { readonly assert: AssertKind };

class Parser {
  private pos = 0;
  private depth = 0;
  private readonly cps: readonly number[];

  constructor(private readonly pattern: string) {
    this.cps = Array.from(pattern, (c) => c.codePointAt(0) as number);
  }

  parse(): Node {
    const node = this.alternation();
    if (this.pos < this.cps.length) this.error("unmatched ')'");
    return node;
  }

  private error(reason: string): never {
    const shown = this.pattern.length > 60 ? `${this.pattern.slice(0, 60)}…` : this.pattern;
    throw fail('invalid_predicate', `invalid regex /${shown}/: ${reason} at position ${this.pos}`);
  }

  private peek(): string | undefined {
    const cp = this.cps[this.pos];
    return cp === undefined ? undefined : String.fromCodePoint(cp);
  }

  private take(): string {
    const c = this.peek();
    if (c === undefined) this.error('unexpected end of pattern');
    this.pos++;
    return c;
  }

  private alternation(): Node {
    const items = [this.sequence()];
    while (this.peek() === '|') {
      this.pos++;
      items.push(this.sequence());
    }
    return items.length === 1 ? (items[0] as Node) : { type: 'alt', items };
  }

  private sequence(): Node {
    const items: Node[] = [];
    for (let c = this.peek(); c !== undefined && c !== '|' && c !== ')'; c = this.peek()) items.push(this.quantified());
    if (items.length === 0) return { type: 'empty' };
    return items.length === 1 ? (items[0] as Node) : { type: 'concat', items };
  }

  private quantified(): Node {
    const atom = this.atom();
    const start = this.pos;
    const q = this.quantifier();
    if (q === undefined) return atom;
    if (atom.type === 'assert') {
      this.pos = start;
      this.error('nothing to repeat');
    }
    if (this.peek() === '?') this.pos++; // lazy: same yes/no answer
    if (isQuantifierStart(this.peek())) this.error('nothing to repeat');
    return { type: 'repeat', node: atom, min: q.min, max: q.max };
  }

  private quantifier(): { min: number; max: number } | undefined {
    switch (this.peek()) {
      case '*':
        this.pos++;
        return { min: 0, max: Infinity };
      case '+':
        this.pos++;
        return { min: 1, max: Infinity };
      case '?':
        this.pos++;
        return { min: 0, max: 1 };
      case '{':
        return this.braces();
      default:
        return undefined;
    }
  }

  private braces(): { min: number; max: number } {
    this.pos++;
    const min = this.number();
    if (min === undefined) this.error("'{' must start a quantifier {m}, {m,} or {m,n}");
    let max = min;
    if (this.peek() === ',') {
      this.pos++;
      max = this.number() ?? Infinity;
    }
    if (this.take() !== '}') this.error("'{' must start a quantifier {m}, {m,} or {m,n}");
    if (min > max) this.error('numbers out of order in {} quantifier');
    if (min > REPEAT_MAX || (max !== Infinity && max > REPEAT_MAX)) this.error(`repeat count over ${REPEAT_MAX}`);
    return { min, max };
  }

  private number(): number | undefined {
    let text = '';
    for (let c = this.peek(); c !== undefined && c >= '0' && c <= '9'; c = this.peek()) {
      text += c;
      this.pos++;
    }
    // Long digit runs are capped rather than parsed: anything past REPEAT_MAX is refused anyway.
    return text === '' ? undefined : text.length > 5 ? REPEAT_MAX + 1 : Number(text);
  }

  private atom(): Node {
    const c = this.take();
    switch (c) {
      case '(':
        return this.group();
      case '[':
        return { type: 'class', ranges: this.classBody() };
      case '.':
        return { type: 'class', ranges: DOT };
      case '^':
        return { type: 'assert', kind: 'start' };
      case '$':
        return { type: 'assert', kind: 'end' };
      case '\\':
        return this.escapeNode();
      case '*':
      case '+':
      case '?':
      case '{':
        this.pos--;
        return this.error('nothing to repeat');
      case '}':
      case ']':
        this.pos--;
        return this.error(`lone '${c}' (escape it)`);
      default:
        return literal(c.codePointAt(0) as number);
    }
  }

  private group(): Node {
    if (this.peek() === '?') {
      this.pos++;
      if (this.take() !== ':') this.error('only (…) and (?:…) groups are supported (no lookaround or named groups)');
    }
    if (++this.depth > NESTING_MAX) this.error(`groups nested deeper than ${NESTING_MAX}`);
    const node = this.alternation();
    if (this.peek() !== ')') this.error("missing ')'");
    this.pos++;
    this.depth--;
    return node;
  }

  private escapeNode(): Node {
    const e = this.escape(false);
    if ('cp' in e) return literal(e.cp);
    if ('ranges' in e) return { type: 'class', ranges: e.ranges };
    return { type: 'assert', kind: e.assert };
  }

  /** After a backslash. Inside a class `\b` is backspace and `\-` is allowed. */
  private escape(inClass: boolean): Escaped {
    const c = this.take();
    const set = CLASS_ESCAPES.get(c);
    if (set !== undefined) return { ranges: set };
    const control = CONTROL_ESCAPES.get(c);
    if (control !== undefined) return { cp: control };
    if (c === 'b') return inClass ? { cp: 0x08 } : { assert: 'word' };
    if (c === 'B' && !inClass) return { assert: 'not_word' };
    if (c === '0' && !isDigit(this.peek())) return { cp: 0 };
    if (c === 'x') return { cp: this.hex(2) };
    if (c === 'u') return { cp: this.unicodeEscape() };
    if (isDigit(c)) return this.error('backreferences are not supported');
    if (/^[\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]$/.test(c)) return { cp: c.codePointAt(0) as number };
    return this.error(`unknown escape '\\${c}'`);
  }

  private hex(digits: number): number {
    let text = '';
    for (let i = 0; i < digits; i++) text += this.take();
    if (!/^[0-9A-Fa-f]+$/.test(text)) this.error('bad hex escape');
    return parseInt(text, 16);
  }

  private unicodeEscape(): number {
    if (this.peek() !== '{') return this.surrogatePair(this.hex(4));
    this.pos++;
    let text = '';
    while (this.peek() !== '}') text += this.take();
    this.pos++;
    if (!/^[0-9A-Fa-f]{1,6}$/.test(text) || parseInt(text, 16) > CODE_POINT_MAX) this.error('bad \\u{…} escape');
    return parseInt(text, 16);
  }

  /** `\uD83D\uDE00` is one code point, as in `u` mode. */
  private surrogatePair(high: number): number {
    const rest = String.fromCodePoint(...this.cps.slice(this.pos, this.pos + 6));
    if (high < 0xd800 || high > 0xdbff || !/^\\u[dD][c-fC-F][0-9a-fA-F]{2}$/.test(rest)) return high;
    this.pos += 2;
    return (high - 0xd800) * 0x400 + (this.hex(4) - 0xdc00) + 0x10000;
  }

  /** After '[': the class up to and including ']'. */
  private classBody(): Ranges {
    const negated = this.peek() === '^';
    if (negated) this.pos++;
    const pairs: number[] = [];
    while (this.peek() !== ']') {
      const lo = this.classAtom();
      if (this.peek() === '-' && this.cps[this.pos + 1] !== undefined && this.peek2() !== ']') {
        this.pos++;
        const hi = this.classAtom();
        if (!('cp' in lo) || !('cp' in hi)) this.error('a class range needs single characters at both ends');
        if (lo.cp > hi.cp) this.error('class range out of order');
        pairs.push(lo.cp, hi.cp);
      } else if ('cp' in lo) pairs.push(lo.cp, lo.cp);
      else pairs.push(...lo.ranges);
    }
    this.pos++;
    const ranges = normalize(pairs);
    return negated ? negate(ranges) : ranges;
  }

  private peek2(): string | undefined {
    const cp = this.cps[this.pos + 1];
    return cp === undefined ? undefined : String.fromCodePoint(cp);
  }

  private classAtom(): { readonly cp: number } | { readonly ranges: Ranges } {
    const c = this.peek();
    if (c === undefined) this.error("missing ']'");
    this.pos++;
    if (c !== '\\') return { cp: c.codePointAt(0) as number };
    const e = this.escape(true);
    if ('assert' in e) this.error('assertion inside a class');
    return e;
  }
}

function literal(cp: number): Node {
  return { type: 'class', ranges: [cp, cp] };
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function isQuantifierStart(c: string | undefined): boolean {
  return c === '*' || c === '+' || c === '?' || c === '{';
}

// ---------------------------------------------------------------------------------------------
// Compiler: Node -> instructions

class Compiler {
  readonly insts: Inst[] = [];

  private emit(inst: Inst): number {
    if (this.insts.length >= REGEX_PROGRAM_MAX) {
      throw fail('invalid_predicate', `regex too large: it compiles to more than ${REGEX_PROGRAM_MAX} instructions (repeat counts expand)`);
    }
    this.insts.push(inst);
    return this.insts.length - 1;
  }

  compile(node: Node): void {
    switch (node.type) {
      case 'empty':
        return;
      case 'class':
        this.emit({ op: 'class', ranges: node.ranges });
        return;
      case 'assert':
        this.emit({ op: 'assert', kind: node.kind });
        return;
      case 'concat':
        for (const item of node.items) this.compile(item);
        return;
      case 'alt':
        this.alternation(node.items);
        return;
      case 'repeat':
        this.repeat(node.node, node.min, node.max);
        return;
    }
  }

  private alternation(items: readonly Node[]): void {
    const jumps: { op: 'jmp'; x: number }[] = [];
    items.forEach((item, i) => {
      if (i === items.length - 1) return this.compile(item);
      const split = { op: 'split' as const, x: this.insts.length + 1, y: -1 };
      this.emit(split);
      this.compile(item);
      const jmp = { op: 'jmp' as const, x: -1 };
      this.emit(jmp);
      jumps.push(jmp);
      split.y = this.insts.length;
    });
    for (const jmp of jumps) jmp.x = this.insts.length;
  }

  private repeat(node: Node, min: number, max: number): void {
    // A node that emits nothing matches only "", and so does any repeat of it; skipping it also
    // keeps `((){1000}){1000}` from looping a million times while emitting nothing.
    if (max === 0 || emitsNothing(node)) return;
    for (let i = 0; i < min; i++) this.compile(node);
    if (max === Infinity) return this.star(node);
    const splits: { op: 'split'; x: number; y: number }[] = [];
    for (let i = min; i < max; i++) {
      const split = { op: 'split' as const, x: this.insts.length + 1, y: -1 };
      this.emit(split);
      splits.push(split);
      this.compile(node);
    }
    for (const split of splits) split.y = this.insts.length; // nested optionals: (x(x)?)?
  }

  private star(node: Node): void {
    const loop = this.insts.length;
    const split = { op: 'split' as const, x: loop + 1, y: -1 };
    this.emit(split);
    this.compile(node);
    this.emit({ op: 'jmp', x: loop });
    split.y = this.insts.length;
  }
}

function emitsNothing(node: Node): boolean {
  switch (node.type) {
    case 'empty':
      return true;
    case 'concat':
      return node.items.every(emitsNothing);
    case 'repeat':
      return node.max === 0 || emitsNothing(node.node);
    default:
      return false;
  }
}

/** Parse and compile a pattern; throws `invalid_predicate` for anything outside the subset. */
export function compileRegex(pattern: string): RegexProgram {
  if (pattern.length > REGEX_PATTERN_LENGTH_MAX) {
    throw fail('invalid_predicate', `regex longer than ${REGEX_PATTERN_LENGTH_MAX} characters`);
  }
  const compiler = new Compiler();
  compiler.compile(new Parser(pattern).parse());
  compiler.insts.push({ op: 'match' });
  const first = compiler.insts[0];
  return { pattern, insts: compiler.insts, anchored: first?.op === 'assert' && first.kind === 'start' };
}

// ---------------------------------------------------------------------------------------------
// Pike VM

function assertionHolds(kind: AssertKind, prev: number, next: number): boolean {
  switch (kind) {
    case 'start':
      return prev < 0;
    case 'end':
      return next < 0;
    case 'word':
      return isWordChar(prev) !== isWordChar(next);
    case 'not_word':
      return isWordChar(prev) === isWordChar(next);
  }
}

/** One run: thread lists plus a per-instruction stamp so each pc is added once per position. */
class Run {
  private readonly stamps: Int32Array;
  private readonly stack: number[] = [];
  list: Int32Array;
  count = 0;
  private spare: Int32Array;
  private spareCount = 0;

  constructor(private readonly insts: readonly Inst[]) {
    this.stamps = new Int32Array(insts.length);
    this.list = new Int32Array(insts.length);
    this.spare = new Int32Array(insts.length);
  }

  /** Follow the epsilon closure of `pc` at a position into the spare list; true when it matches. */
  add(pc0: number, stamp: number, prev: number, next: number): boolean {
    const stack = this.stack;
    stack.push(pc0);
    while (stack.length > 0) {
      const pc = stack.pop() as number;
      if (this.stamps[pc] === stamp) continue;
      this.stamps[pc] = stamp;
      const inst = this.insts[pc] as Inst;
      if (inst.op === 'match') {
        stack.length = 0;
        return true;
      }
      if (inst.op === 'class') this.spare[this.spareCount++] = pc;
      else if (inst.op === 'jmp') stack.push(inst.x);
      else if (inst.op === 'split') stack.push(inst.y, inst.x);
      else if (assertionHolds(inst.kind, prev, next)) stack.push(pc + 1);
    }
    return false;
  }

  /** Make the spare list (just filled) current. */
  swap(): void {
    [this.list, this.spare] = [this.spare, this.list];
    this.count = this.spareCount;
    this.spareCount = 0;
  }
}

function codePointAt(text: string, i: number): number {
  return i < text.length ? (text.codePointAt(i) as number) : -1;
}

/** Does the program match anywhere in `text`? Linear in `text` for a given program. */
export function regexTest(program: RegexProgram, text: string): boolean {
  const run = new Run(program.insts);
  let stamp = 1;
  let prev = -1;
  let i = 0;
  for (;;) {
    const cp = codePointAt(text, i);
    // The unanchored start thread (an implicit leading `.*?`), added at every position.
    if ((i === 0 || !program.anchored) && run.add(0, stamp, prev, cp)) return true;
    run.swap();
    if (cp < 0 || (run.count === 0 && program.anchored)) return false;
    const next = i + (cp > 0xffff ? 2 : 1);
    const nextCp = codePointAt(text, next);
    stamp++;
    for (let t = 0; t < run.count; t++) {
      const pc = run.list[t] as number;
      const inst = program.insts[pc] as Inst;
      if (inst.op === 'class' && inRanges(inst.ranges, cp) && run.add(pc + 1, stamp, cp, nextCp)) return true;
    }
    prev = cp;
    i = next;
  }
}

// ---------------------------------------------------------------------------------------------
// Cache: predicates keep the pattern text as their operand, so the compiled program is looked up.

const cache = new Map<string, RegexProgram>();

/** The compiled program of a pattern, from a bounded cache (oldest entry evicted first). */
export function cachedRegex(pattern: string): RegexProgram {
  const hit = cache.get(pattern);
  if (hit !== undefined) return hit;
  const program = compileRegex(pattern);
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(pattern, program);
  return program;
}

/** `RegExp(pattern, 'u').test(text)` for the supported subset, in linear time. */
export function regexSearch(pattern: string, text: string): boolean {
  return regexTest(cachedRegex(pattern), text);
}
