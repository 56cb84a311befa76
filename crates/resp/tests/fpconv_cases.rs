//! Double formatting checked against texts a Valkey 8.0.1 server produced (see the header of
//! `data/fpconv_cases.txt`): `fmt_double` must equal Valkey's `d2string` and `fpconv_dtoa` its
//! `fpconv_dtoa`, byte for byte, including the values where Grisu2's digits are not the
//! shortest round-trip ones.

use resp::float::{fmt_double, fpconv_dtoa, parse_double};
use resp::{Reply, RespVersion};

struct Case {
    v: f64,
    d2string: String,
    fpconv: String,
    note: String,
}

fn cases() -> Vec<Case> {
    let data = include_str!("data/fpconv_cases.txt");
    data.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert!(f.len() >= 3, "bad fixture line {l:?}");
            let bits = u64::from_str_radix(f[0], 16).expect("hex bits");
            Case {
                v: f64::from_bits(bits),
                d2string: f[1].to_string(),
                fpconv: f[2].to_string(),
                note: f.get(3).unwrap_or(&"").to_string(),
            }
        })
        .collect()
}

#[test]
fn matches_valkey_d2string_and_fpconv_dtoa() {
    let cases = cases();
    assert!(cases.len() > 2000, "fixture too small: {}", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let (d, p) = (fmt_double(c.v), fpconv_dtoa(c.v));
        if d != c.d2string || p != c.fpconv {
            failures.push(format!(
                "{:016x} ({}): d2string valkey {} ours {d}; fpconv valkey {} ours {p}",
                c.v.to_bits(),
                c.note,
                c.d2string,
                c.fpconv
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The significant digits of a printed double (`-0.00120e5` -> `12`).
fn significant(s: &str) -> String {
    let mantissa = s.split(['e', 'E']).next().unwrap_or("");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    digits.trim_matches('0').to_string()
}

#[test]
fn fixture_covers_grisu_not_shortest() {
    // Grisu2 sometimes keeps more digits than the shortest round-trip form (Rust's `{:e}`);
    // the texts still read back to the same double.
    let mut longer = 0;
    for c in cases().iter().filter(|c| c.v != 0.0) {
        assert_eq!(parse_double(c.fpconv.as_bytes()), Some(c.v), "{}", c.fpconv);
        if significant(&c.fpconv).len() > significant(&format!("{:e}", c.v)).len() {
            longer += 1;
        }
    }
    assert!(
        longer > 300,
        "only {longer} cases longer than the shortest form"
    );
}

#[test]
fn replies_use_d2string() {
    for c in cases().iter().step_by(17) {
        let mut r2 = Vec::new();
        Reply::Double(c.v).encode(RespVersion::Resp2, &mut r2);
        let want2 = format!("${}\r\n{}\r\n", c.d2string.len(), c.d2string);
        assert_eq!(String::from_utf8_lossy(&r2), want2);
        let mut r3 = Vec::new();
        Reply::Double(c.v).encode(RespVersion::Resp3, &mut r3);
        assert_eq!(String::from_utf8_lossy(&r3), format!(",{}\r\n", c.d2string));
    }
}
