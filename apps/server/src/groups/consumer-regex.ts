// Topic subscriptions by regular expression (ConsumerGroupHeartbeat v1's SubscribedTopicRegex).
// Kafka evaluates them with RE2/J, a linear-time engine, as a full match of the topic name. Node 20
// has only its backtracking RegExp, so a pattern is accepted only where the two agree and
// backtracking stays bounded:
//   - full match: the pattern is wrapped as ^(?:pattern)$ and compiled with the `u` flag (an escape
//     JavaScript does not know, as RE2's \Q…\E or \pN, is refused rather than read as a letter);
//   - refused (INVALID_REGULAR_EXPRESSION): lookaround ((?=, (?!, (?<=, (?<!) and backreferences
//     (\1, \k<…>), which RE2 does not have; inline flags ((?i), (?s), …) and (?P<name>…), which
//     JavaScript does not have; a repeated group whose body repeats or alternates ((a+)+, (a|b)*),
//     the shapes that backtrack exponentially; more than MAX_UNBOUNDED unbounded repetitions
//     (*, +, {n,}), which bound the polynomial cost on names of at most 249 characters;
//   - at most `maxBytes` UTF-8 bytes long.
// Internal topics (`__consumer_offsets`, `__transaction_state`) never match, as in Kafka.

/** Unbounded repetitions (*, +, {n,}) a pattern may hold. */
export const MAX_UNBOUNDED = 3;

export type CompiledRegex = { ok: true; regex: RegExp } | { ok: false; reason: string };

export function compileTopicRegex(source: string, maxBytes: number): CompiledRegex {
  if (Buffer.byteLength(source, 'utf8') > maxBytes)
    return { ok: false, reason: `the regular expression is longer than ${maxBytes} bytes` };
  const shape = checkShape(source);
  if (shape !== undefined) return { ok: false, reason: shape };
  try {
    return { ok: true, regex: new RegExp(`^(?:${source})$`, 'u') };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

/** Why the pattern is refused, or undefined. A scan of its tokens (escapes and classes skipped). */
function checkShape(s: string): string | undefined {
  // Per open group: whether its body repeats or alternates so far.
  const stack: Array<{ risky: boolean }> = [];
  let unbounded = 0;
  let lastGroupRisky = false;
  let lastWasGroup = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      const n = s[i + 1] ?? '';
      if (/[1-9]/.test(n) || n === 'k') return 'backreferences are not supported';
      i++;
      lastWasGroup = false;
      continue;
    }
    if (c === '[') {
      // Skip the class (an escaped ] or a ] first in it does not end it).
      let j = i + 1;
      if (s[j] === '^') j++;
      if (s[j] === ']') j++;
      for (; j < s.length && s[j] !== ']'; j++) if (s[j] === '\\') j++;
      i = j;
      lastWasGroup = false;
      continue;
    }
    if (c === '(') {
      if (s[i + 1] === '?') {
        const rest = s.slice(i + 2, i + 4);
        if (rest.startsWith('=') || rest.startsWith('!') || rest === '<=' || rest === '<!')
          return 'lookaround is not supported';
        if (rest.startsWith('P')) return '(?P<name>…) groups are not supported; use (?<name>…)';
        if (!rest.startsWith(':') && !rest.startsWith('<')) return 'inline flags are not supported';
      }
      stack.push({ risky: false });
      lastWasGroup = false;
      continue;
    }
    if (c === ')') {
      const g = stack.pop();
      lastGroupRisky = g?.risky ?? false;
      lastWasGroup = true;
      // A group containing risk makes its enclosing group risky too.
      const outer = stack[stack.length - 1];
      if (outer !== undefined && lastGroupRisky) outer.risky = true;
      continue;
    }
    if (c === '|') {
      const g = stack[stack.length - 1];
      if (g !== undefined) g.risky = true;
      lastWasGroup = false;
      continue;
    }
    const isStar = c === '*' || c === '+';
    const brace = c === '{' ? /^\{(\d+)(,(\d*))?\}/.exec(s.slice(i)) : null;
    if (isStar || brace !== null || c === '?') {
      const repeats = isStar || (brace !== null && brace[2] !== undefined);
      const unboundedHere = isStar || (brace !== null && brace[2] !== undefined && brace[3] === '');
      if (unboundedHere && ++unbounded > MAX_UNBOUNDED)
        return `more than ${MAX_UNBOUNDED} unbounded repetitions (*, +, {n,})`;
      if (repeats && lastWasGroup && lastGroupRisky)
        return 'a repeated group whose body repeats or alternates (e.g. (a+)+ or (a|b)*) is not supported';
      if (repeats || c === '?') {
        const g = stack[stack.length - 1];
        if (g !== undefined && repeats) g.risky = true;
      }
      if (brace !== null) i += brace[0].length - 1;
      lastWasGroup = false;
      continue;
    }
    lastWasGroup = false;
  }
  return undefined;
}
