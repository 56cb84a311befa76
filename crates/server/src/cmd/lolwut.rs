//! LOLWUT [VERSION v] [args...]: a piece of computer art and the version line, with Valkey's
//! reply shape (verbatim text ending in `Redis ver. <version>`). The art is our own: for
//! version 5, waves drawn with Braille dots (arguments: columns, waves per row, rows of
//! waves); for version 6, a skyline of blocks (arguments: columns, rows). Any other version
//! gets the version line alone, as Valkey does for its current release.

use bytes::Bytes;
use commands::errors::{self, err};
use resp::Reply;

fn version_line() -> String {
    format!("Redis ver. {}\n", crate::REDIS_VERSION)
}

/// The numeric arguments after the version, with defaults and Valkey's clamps.
fn args(argv: &[Bytes], defaults: &[i64], max: &[i64]) -> Result<Vec<i64>, Reply> {
    let mut out = defaults.to_vec();
    for (i, v) in out.iter_mut().enumerate() {
        if let Some(a) = argv.get(i) {
            *v = commands::args::int(a).map_err(|_| err(errors::NOT_INT))?;
        }
        *v = (*v).clamp(1, max.get(i).copied().unwrap_or(1000));
    }
    Ok(out)
}

pub fn lolwut(argv: &[Bytes]) -> Reply {
    let (version, rest) = if argv.len() >= 3 && argv[1].eq_ignore_ascii_case(b"version") {
        match commands::args::int(&argv[2]) {
            Ok(v) => (format!("{}.0.0", v as u32), &argv[3..]),
            Err(_) => return err(errors::NOT_INT),
        }
    } else {
        (crate::REDIS_VERSION.to_string(), &argv[1..])
    };
    let v = version.as_bytes();
    let art = if (v.starts_with(b"5.") && !v.starts_with(b"5.9")) || v.starts_with(b"4.9") {
        match args(rest, &[66, 8, 12], &[1000, 200, 200]) {
            Ok(a) => waves(a[0] as usize, a[1] as usize, a[2] as usize),
            Err(e) => return e,
        }
    } else if v.starts_with(b"6.") || v.starts_with(b"5.9") {
        match args(rest, &[80, 20], &[1000, 1000]) {
            Ok(a) => skyline(a[0] as usize, a[1] as usize),
            Err(e) => return e,
        }
    } else {
        String::new()
    };
    Reply::Verbatim("txt", Bytes::from(art + &version_line()))
}

/// A pixel canvas rendered with Braille characters (2×4 dots each).
struct Canvas {
    width: usize,
    height: usize,
    dots: Vec<bool>,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Canvas {
        Canvas {
            width,
            height,
            dots: vec![false; width * height],
        }
    }

    fn set(&mut self, x: i64, y: i64) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            self.dots[y as usize * self.width + x as usize] = true;
        }
    }

    fn get(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.height && self.dots[y * self.width + x]
    }

    fn render(&self) -> String {
        // Braille dot bits, by (dx, dy) inside a 2×4 cell.
        const BITS: [[u32; 4]; 2] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]];
        let mut out = String::new();
        for cy in (0..self.height).step_by(4) {
            for cx in (0..self.width).step_by(2) {
                let mut code = 0;
                for (dx, column) in BITS.iter().enumerate() {
                    for (dy, bit) in column.iter().enumerate() {
                        if self.get(cx + dx, cy + dy) {
                            code |= bit;
                        }
                    }
                }
                out.push(char::from_u32(0x2800 + code).unwrap_or(' '));
            }
            out.push('\n');
        }
        out
    }
}

/// Rows of waves whose amplitude grows row after row.
fn waves(columns: usize, per_row: usize, rows: usize) -> String {
    let width = columns * 2;
    let band = 16usize;
    let mut canvas = Canvas::new(width, band * rows);
    let period = width as f64 / per_row as f64;
    for row in 0..rows {
        let amplitude = (band as f64 / 2.0 - 1.0) * (row + 1) as f64 / rows as f64;
        let middle = (row * band + band / 2) as f64;
        let mut last: Option<i64> = None;
        for x in 0..width {
            let phase = x as f64 / period * std::f64::consts::TAU;
            let y = (middle + amplitude * phase.sin()).round() as i64;
            let from = last.unwrap_or(y);
            for yy in from.min(y)..=from.max(y) {
                canvas.set(x as i64, yy);
            }
            last = Some(y);
        }
    }
    format!(
        "{}\nWaves, rising row after row. Redwing's LOLWUT 5. ",
        canvas.render()
    )
}

/// A skyline of towers of pseudo-random heights (fixed seed: the same art every time).
fn skyline(columns: usize, rows: usize) -> String {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut heights = Vec::with_capacity(columns);
    while heights.len() < columns {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let h = 1 + (state >> 33) as usize % rows.max(1);
        let w = 1 + (state >> 20) as usize % 4;
        heights.extend(std::iter::repeat_n(h, w.min(columns - heights.len())));
    }
    let mut out = String::new();
    for r in (0..rows).rev() {
        let line: String = heights
            .iter()
            .map(|&h| if h > r { '\u{2588}' } else { ' ' })
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    format!("{out}\nA skyline at night. Redwing's LOLWUT 6. ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(r: Reply) -> String {
        match r {
            Reply::Verbatim(_, b) => String::from_utf8_lossy(&b).into_owned(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn version_line_ends_every_piece() {
        let line = version_line();
        for argv in [
            vec![Bytes::from("LOLWUT")],
            vec![
                Bytes::from("LOLWUT"),
                Bytes::from("VERSION"),
                Bytes::from("5"),
            ],
            vec![
                Bytes::from("lolwut"),
                Bytes::from("version"),
                Bytes::from("6"),
                Bytes::from("20"),
                Bytes::from("5"),
            ],
        ] {
            assert!(text(lolwut(&argv)).ends_with(&line));
        }
        assert_eq!(text(lolwut(&[Bytes::from("LOLWUT")])), line);
    }

    #[test]
    fn bad_numbers_are_errors() {
        let argv = [
            Bytes::from("LOLWUT"),
            Bytes::from("VERSION"),
            Bytes::from("x"),
        ];
        assert!(matches!(lolwut(&argv), Reply::Error(_)));
        let argv = [
            Bytes::from("LOLWUT"),
            Bytes::from("VERSION"),
            Bytes::from("5"),
            Bytes::from("wide"),
        ];
        assert!(matches!(lolwut(&argv), Reply::Error(_)));
    }
}
