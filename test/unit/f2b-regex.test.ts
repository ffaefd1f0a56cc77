// Table tests for the Python → JavaScript regex translation of fail2ban patterns.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PyRegExp, translatePythonRegex } from '../../src/fail2ban/regex.js';
import { allStrings } from '../helpers/strings.js';

function compile(source: string, multiline = false): PyRegExp {
  const t = translatePythonRegex(source, { multiline });
  if (!t.ok) assert.fail(`${source}: ${t.construct}: ${t.reason}`);
  return new PyRegExp(t.value);
}

const MATCHES: readonly [string, string, boolean, Record<string, string | undefined>?][] = [
  ['(?P<user>\\w+) from', 'bob from x', true, { user: 'bob' }],
  ['(?P<q>["\'])x(?P=q)', '"x"', true],
  ['(?P<q>["\'])x(?P=q)', '"x\'', false],
  ['^a{,2}b$', 'aab', true],
  ['^a{,2}b$', 'a{,2}b', false],
  ['^[^]]+\\]$', 'abc]', true],
  ['^[]a]+$', ']a]', true],
  ['^error$', 'error\n', true],
  ['^error$', 'error\nmore\n', false],
  ['^(?i:user) X$', 'USER X', true],
  ['^(?i:user) X$', 'USER x', false],
  ['^[a-c](?i:[a-c])$', 'aB', true],
  ['^\\d+$', '١٢٣', true],
  ['^\\w+$', 'jürgen', true],
  ['\\bmüller\\b', 'herr müller.', true],
  ['^abc\\Z', 'abc', true],
  ['^abc\\Z', 'abc\n', false],
  ['\\Aabc', 'abc', true],
  ['(?s)^a.b$', 'a\nb', true],
  ['^a.b$', 'a\nb', false],
  ['^\\-\\"\\:$', '-":', true],
  ['^x{1,}$', 'xxx', true],
  ['(?#comment)^a$', 'a', true],
];

test('python patterns match what Python matches', () => {
  for (const [source, subject, expected, groups] of MATCHES) {
    const m = compile(source).exec(subject);
    assert.equal(m !== null, expected, `${source} on ${JSON.stringify(subject)}`);
    if (groups !== undefined && m !== null) {
      for (const [k, v] of Object.entries(groups))
        assert.equal(m.groups?.[k], v, `${source}: group ${k}`);
    }
  }
});

test('multiline mode: ^ and $ at every line break, as re.MULTILINE', () => {
  const r = compile('^b$', true);
  assert.notEqual(r.exec('a\nb\nc\n'), null);
  assert.equal(compile('^b$').exec('a\nb\nc\n'), null);
});

test('conditionals become variants tried in Python order', () => {
  // sshd's shape: the user part depends on whether "invalid user " was present.
  const r = compile(
    '^Failed for (?P<inv>invalid user )?(?P<user>(?(inv).*?|\\S+)) from (?P<ip>\\S+)$',
  );
  assert.equal(r.exec('Failed for invalid user a b from 1.2.3.4')?.groups?.['user'], 'a b');
  assert.equal(r.exec('Failed for root from 1.2.3.4')?.groups?.['user'], 'root');
  assert.equal(r.exec('Failed for a b from 1.2.3.4'), null);
  const alt = compile('^(?:(?P<u>\\d+)|x)(?(u):d|:x)$');
  assert.notEqual(alt.exec('12:d'), null);
  assert.notEqual(alt.exec('x:x'), null);
  assert.equal(alt.exec('12:x'), null);
  assert.equal(alt.exec('x:d'), null);
});

test('untranslatable constructs are reported by name, never dropped', () => {
  const cases: readonly [string, string][] = [
    ['(?>abc)', '(?>…)'],
    ['a++', 'possessive quantifier'],
    ['(?x) a b', '(?x)'],
    ['(abc', '('],
    ['\\q', '\\q'],
    ['*a', '*'],
  ];
  for (const [source, construct] of cases) {
    const t = translatePythonRegex(source);
    assert.equal(t.ok, false, source);
    assert.equal(t.construct, construct, source);
  }
});

test('a one-character lookahead that what follows decides is left out for the linear engine; others are kept', () => {
  // exim's quoted command: every pass of the repeat is followed by a `"`, so (?=") always holds.
  assert.equal(linear('^in "[^"]+(?:"+[^"]*(?="))*?" H'), '^in "[^"]+(?:"+[^"]*)*?" H');
  assert.equal(linear('^(?!a)b(?=c)(?:c|cd)'), '^b(?:c|cd)');
  assert.match(linear('^b(?=c)(?:c|C)'), /^refused/);
  assert.equal(linear('(?i)^(?!A)b'), '^[bB]');
  assert.equal(linear('^x(?![0-9])\\s'), '^x\\s');
  // Kept (and so refused on the linear engine): the next character may or may not pass the test,
  // the match may end there, or the lookahead is no set of words before a run.
  for (const source of [
    '^x(?=")', // a search may stop after x
    '^x(?=a)[ab]',
    '(?i)^(?!a)A',
    '^x(?=")(?:"|$)',
    '^(?!\\d)\\w',
    '(?i)^(?!ab)\\w+:',
    '^(?!ab)(?:a|b)+x',
    '^x(?!ab)',
    '^(?!ab)\\w*\\w:',
  ]) {
    assert.match(linear(source), /^refused: a lookaround/, source);
  }
});

/** The pattern translated for the linear engine, or why not. */
function linear(source: string): string {
  const t = translatePythonRegex(source, { linear: true });
  return t.ok ? (t.value.variants[0] ?? '') : `refused: ${t.reason}`;
}

test('lookaheads rewritten for the linear engine match the same text with the same groups as the lookahead', () => {
  // [pattern, alphabet, prefix of every subject]: the shapes of fail2ban's filters, made small.
  const cases: readonly [string, string, string][] = [
    ['^in "[^"]+(?:"+[^"]*(?="))*?" (?P<h>\\w)', 'a" x', 'in '],
    ['^(?!ab)[a-c]*:', 'abc:', ''],
    ['^(?!ab|b)[a-c]+x', 'abcx', ''],
    ['^(?!abc)[a-d]{2,4}:', 'abcd:', ''],
    ['^(?!ab)a(?:b|c)d?', 'abcd', ''],
    // Greedy and lazy runs keep their order of preference: the groups split the same way.
    ['^(?!ab)(?P<x>[a-c]*?)(?P<y>[c:]*):', 'abc:', ''],
    ['^(?!ab)(?P<x>[a-c]*)(?P<y>[c:]*?):', 'abc:', ''],
    ['^(?!ab)(?P<x>[a-c]{1,3}?)(?P<y>[c:]*):', 'abc:', ''],
    ['^u (?!`)(?P<u>(?:\\S*|.*?)) z', '`a z', 'u '], // apache-auth
    ['\\[(:?e|(?!ev)\\S+:\\S+)\\]', '[ev:]', ''], // apache-auth's prefix
    ['^(?:,(?!Ra=)\\w+="[^"]*")*,Ra=', ',Ra="', ''], // asterisk
    ['^(?:(?!er|in)[\\w-]+: )?(?:(?:er|in):\\s*)?c', 'erin:- c', ''], // named-refused
    ['^- (?!- )(?P<u>\\S+) \\[', '- [x', '- '], // traefik-auth
    ['\\[(?!re\\])(?:.*)\\]', '[re]x', ''], // recidive
    ['F, (?:(?!ip=)(?:u=(?P<u>[^,]*)|\\w+=[^,]*), )*ip=\\[', 'ipu=, [', 'F, '], // courier-auth
  ];
  for (const [source, alphabet, prefix] of cases) {
    assert.doesNotMatch(linear(source), /^refused/, source);
    const withLookahead = compile(source);
    const t = translatePythonRegex(source, { linear: true });
    assert.ok(t.ok);
    const rewritten = new PyRegExp(t.value);
    let matched = 0;
    for (const s of allStrings(alphabet, 6)) {
      const subject = prefix + s;
      const want = withLookahead.exec(subject);
      const got = rewritten.exec(subject);
      const shape = (m: RegExpExecArray | null) =>
        m === null ? null : { index: m.index, groups: { ...m.groups } };
      assert.deepEqual(shape(got), shape(want), `${source} on ${JSON.stringify(subject)}`);
      if (want !== null) matched++;
    }
    assert.ok(matched > 0, `${source} matched none of its subjects`);
  }
});
