//! Glob-style pattern matching with exactly Redis's `stringmatchlen` semantics (KEYS, SCAN
//! MATCH, PSUBSCRIBE, CONFIG GET): `*`, `?`, `[abc]`, `[^a-z]`, `\x` escapes; byte ranges compare
//! as signed chars, as the C code does.

/// True if `string` matches `pattern`.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, string, nocase, &mut skip_longer, 0)
}

fn lower(c: u8) -> u8 {
    c.to_ascii_lowercase()
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        lower(a) == lower(b)
    } else {
        a == b
    }
}

/// Reads like C reading a NUL-terminated buffer: past the end is 0.
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

fn match_impl(
    pat: &[u8],
    string: &[u8],
    nocase: bool,
    skip_longer: &mut bool,
    depth: usize,
) -> bool {
    // Patterns are user input: bound the recursion (one level per `*`).
    if depth > 1000 {
        return false;
    }
    let (mut p, mut s) = (0usize, 0usize);
    while p < pat.len() && s < string.len() {
        match pat[p] {
            b'*' => {
                while p + 1 < pat.len() && pat[p + 1] == b'*' {
                    p += 1;
                }
                if p + 1 == pat.len() {
                    return true;
                }
                while s < string.len() {
                    if match_impl(&pat[p + 1..], &string[s..], nocase, skip_longer, depth + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s += 1;
                }
                *skip_longer = true;
                return false;
            }
            b'?' => s += 1,
            b'[' => {
                p += 1;
                let not = at(pat, p) == b'^';
                if not {
                    p += 1;
                }
                let c = string[s];
                let mut matched = false;
                loop {
                    if at(pat, p) == b'\\' && pat.len() - p.min(pat.len()) >= 2 {
                        p += 1;
                        if pat[p] == c {
                            matched = true;
                        }
                    } else if at(pat, p) == b']' {
                        break;
                    } else if p >= pat.len() {
                        p -= 1;
                        break;
                    } else if pat.len() - p >= 3 && pat[p + 1] == b'-' {
                        let (mut lo, mut hi, mut ch) =
                            (pat[p] as i8 as i32, pat[p + 2] as i8 as i32, c as i8 as i32);
                        if lo > hi {
                            std::mem::swap(&mut lo, &mut hi);
                        }
                        if nocase {
                            let l = |v: i32| if (65..=90).contains(&v) { v + 32 } else { v };
                            (lo, hi, ch) = (l(lo), l(hi), l(ch));
                        }
                        p += 2;
                        if ch >= lo && ch <= hi {
                            matched = true;
                        }
                    } else if eq(pat[p], c, nocase) {
                        matched = true;
                    }
                    p += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s += 1;
            }
            b'\\' => {
                if pat.len() - p >= 2 {
                    p += 1;
                }
                if !eq(pat[p], string[s], nocase) {
                    return false;
                }
                s += 1;
            }
            other => {
                if !eq(other, string[s], nocase) {
                    return false;
                }
                s += 1;
            }
        }
        p += 1;
        if s == string.len() {
            while at(pat, p) == b'*' {
                p += 1;
            }
            break;
        }
    }
    p >= pat.len() && s == string.len()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn redis_cases() {
        let yes = [
            ("*", "abc"),
            ("a*c", "abbbc"),
            ("h?llo", "hello"),
            ("h[ae]llo", "hallo"),
            ("h[^e]llo", "hallo"),
            ("h[a-b]llo", "hbllo"),
            ("h[b-a]llo", "hallo"),
            ("a\\*b", "a*b"),
            ("*o*", "foo"),
            ("user:*:name", "user:1000:name"),
            ("[abc", "a"),
        ];
        for (p, s) in yes {
            assert!(
                glob_match(p.as_bytes(), s.as_bytes(), false),
                "{p} should match {s}"
            );
        }
        let no = [
            ("h[^e]llo", "hello"),
            ("a?", "a"),
            ("abc", "ab"),
            ("a\\*b", "axb"),
            ("", "a"),
        ];
        for (p, s) in no {
            assert!(
                !glob_match(p.as_bytes(), s.as_bytes(), false),
                "{p} should not match {s}"
            );
        }
        assert!(glob_match(b"HELLO*", b"hello world", true));
    }

    #[test]
    fn pathological_patterns_terminate() {
        let pat = "a*".repeat(40) + "b";
        let s = "a".repeat(60);
        assert!(!glob_match(pat.as_bytes(), s.as_bytes(), false));
    }
}
