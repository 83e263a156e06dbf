// Proves the linear-time regex engine of regex.ts: on a table of safe patterns and inputs, and on
// seeded random patterns, it answers exactly as JavaScript's RegExp with the `u` flag; catastrophic
// patterns finish; and patterns outside the documented subset are refused as invalid_predicate.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpacekvError } from '../src/errors.js';
import { cachedRegex, compileRegex, regexSearch, regexTest, REGEX_PROGRAM_MAX } from '../src/regex.js';

const PATTERNS = [
  'abc', '^abc$', 'a.c', 'a*b', 'a+b', 'colou?r', 'a{2,3}', '^a{2}$', 'a{2,}', '(ab|cd)+e', '[a-z]+\\d', '[^0-9]+$',
  '\\w+@\\w+\\.com', '\\s', '\\S+', '^$', '', 'x|y|z', '(a|b)*c', '\\bfoo\\b', '\\Bo', '(?:ab)+', 'a*?b', 'a+?', '[\\d\\s]',
  '[-a]', '[a-]', '\\.', '[.]', 'é', '😀', '^.$', '^..$', '\\u{1F600}', '\\uD83D\\uDE00', '\\x41', '\\u0041', '[^]', '[]',
  'a{0}', '^a{0}$', '(a*)*b', '(|a)b', 'a||b', '^(a|ab)(c|bcd)(d*)$', '\\D\\W', '[^\\w]', '[\\b]', 'a$|^b', '\\0',
  '\\t\\n', '[\\n]', '.', '^(?:a|b){1,3}$', '^[a-c]{0,2}d?$', '(a{1,2}){2}', '\\$', '\\^', '[\\]]', '[\\-x]', '\\/',
];

const INPUTS = [
  '', 'abc', 'xabcx', 'ac', 'aac', 'b', 'aaab', 'color', 'colour', 'aa', 'aaa', 'abcde', 'foo bar', 'foobar', 'a@b.com',
  'é', '😀', 'x😀y', 'A', '\n', 'a\nb', 'Ab1', '123', ' ', '-', 'abcd', 'abbcd', 'cdcde', 'ab ab', '\t\n', '\0', '$^',
  ']', '/', '\b', 'ba', 'aba',
];

describe('regex agrees with RegExp(u) on safe patterns', () => {
  for (const pattern of PATTERNS) {
    it(`/${pattern}/`, () => {
      const reference = new RegExp(pattern, 'u');
      const program = compileRegex(pattern);
      for (const input of INPUTS) {
        assert.equal(regexTest(program, input), reference.test(input), `/${pattern}/ on ${JSON.stringify(input)}`);
      }
    });
  }
});

/** A tiny deterministic PRNG (mulberry32) so the random cases are the same on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomPattern(next: () => number, depth: number): string {
  const atoms = ['a', 'b', '.', '[ab]', '[^a]', '\\w', '\\d', '1', '^', '$', '\\b'];
  const quantifiers = ['', '', '', '*', '+', '?', '{1,2}', '{2}', '{0,}', '*?'];
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  let out = '';
  const length = 1 + Math.floor(next() * 4);
  for (let i = 0; i < length; i++) {
    const r = next();
    if (r < 0.15 && depth < 3) out += `(${randomPattern(next, depth + 1)}|${randomPattern(next, depth + 1)})${pick(quantifiers)}`;
    else {
      const atom = pick(atoms);
      out += atom + (['^', '$', '\\b'].includes(atom) ? '' : pick(quantifiers));
    }
  }
  return out;
}

describe('regex agrees with RegExp(u) on random patterns', () => {
  it('2000 seeded random patterns × 20 random inputs', () => {
    const next = random(42);
    const alphabet = ['a', 'b', '1', ' ', 'c'];
    for (let p = 0; p < 2000; p++) {
      const pattern = randomPattern(next, 0);
      const reference = new RegExp(pattern, 'u');
      const program = compileRegex(pattern);
      for (let k = 0; k < 20; k++) {
        let input = '';
        const length = Math.floor(next() * 8);
        for (let i = 0; i < length; i++) input += alphabet[Math.floor(next() * alphabet.length)];
        assert.equal(regexTest(program, input), reference.test(input), `/${pattern}/ on ${JSON.stringify(input)}`);
      }
    }
  });
});

describe('regex runs in linear time', () => {
  it('(a+)+$ against a*30000 + b finishes and answers false', () => {
    assert.equal(regexSearch('(a+)+$', 'a'.repeat(30000) + 'b'), false);
  });

  it('other catastrophic shapes finish', () => {
    const input = 'a'.repeat(20000) + '!';
    assert.equal(regexSearch('^(a|a)*$', input), false);
    assert.equal(regexSearch('^(a*)*$', input), false);
    assert.equal(regexSearch('(a|aa)+b', input), false);
    assert.equal(regexSearch('^(\\w+\\s?)*$', input), false);
    assert.equal(regexSearch('(a+)+!', input), true);
  });

  it('a large bounded repeat compiles within the cap and matches', () => {
    assert.equal(regexSearch('^a{1000}$', 'a'.repeat(1000)), true);
    assert.equal(regexSearch('^a{1000}$', 'a'.repeat(999)), false);
  });
});

describe('regex refuses what it does not support', () => {
  const invalid = [
    '(', ')', 'a)', '[a', 'a**', '*a', '+', '?', 'a{2,1}', '\\1', '(?=a)', '(?!a)', '(?<=a)b', '(?<name>a)', 'a{', 'a{,2}',
    '{', '}', ']', '\\', '[z-a]', 'a{1001}', '(a{1000}){1000}', '^*', '$+', '\\b*', '\\q', '\\k<x>', '[\\d-z]', '\\xZZ',
    '\\u{110000}', '('.repeat(200) + ')'.repeat(200), 'x'.repeat(10_001), '\\cA',
  ];
  for (const pattern of invalid) {
    it(`refuses /${pattern.slice(0, 30)}/`, () => {
      assert.throws(
        () => compileRegex(pattern),
        (err: unknown) => err instanceof SpacekvError && err.code === 'invalid_predicate',
      );
    });
  }

  it('refuses a program past REGEX_PROGRAM_MAX instructions', () => {
    const repeats = REGEX_PROGRAM_MAX / 1000 + 1;
    assert.throws(() => compileRegex(`(?:[ab]{1000}){${repeats}}`), /too large/);
  });

  it('handles empty-width repeats without blowing up', () => {
    assert.equal(regexSearch('^((){1000}){1000}$', ''), true);
    assert.equal(regexSearch('^(a?){1000}$', 'a'.repeat(5)), true);
  });
});

describe('regex cache', () => {
  it('returns the same compiled program for the same pattern', () => {
    assert.equal(cachedRegex('ab+c'), cachedRegex('ab+c'));
  });

  it('stays usable after many distinct patterns (bounded, evicting)', () => {
    for (let i = 0; i < 1000; i++) assert.equal(regexSearch(`^x${i}$`, `x${i}`), true);
    assert.equal(regexSearch('ab+c', 'xabbbcx'), true);
  });
});
