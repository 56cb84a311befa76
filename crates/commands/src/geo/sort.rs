//! The two sorts Valkey applies to search results, reproduced so that points at equal
//! distances (or NaN distances) come out in the same order as Valkey's:
//!
//! - [`merge_sort`]: glibc's `qsort` (a stable top-down merge sort) for a full sort;
//! - [`partial_quicksort`]: Valkey's `pqsort` (Bentley & McIlroy's quicksort that only
//!   recurses into partitions overlapping the wanted rank range) when COUNT keeps fewer
//!   results than were found.
//!
//! The comparator is C's: any `Ordering`, no total order required, never a panic.

use std::cmp::Ordering;

/// Stable merge sort splitting at `n / 2`, taking from the left run on ties (glibc `msort`).
pub fn merge_sort<T: Clone>(v: &mut [T], cmp: &impl Fn(&T, &T) -> Ordering) {
    if v.len() <= 1 {
        return;
    }
    let mut tmp = Vec::with_capacity(v.len());
    sort_run(v, &mut tmp, cmp);
}

fn sort_run<T: Clone>(v: &mut [T], tmp: &mut Vec<T>, cmp: &impl Fn(&T, &T) -> Ordering) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    sort_run(&mut v[..n1], tmp, cmp);
    sort_run(&mut v[n1..], tmp, cmp);
    tmp.clear();
    let (mut i, mut j) = (0, n1);
    while i < n1 && j < n {
        if cmp(&v[i], &v[j]) != Ordering::Greater {
            tmp.push(v[i].clone());
            i += 1;
        } else {
            tmp.push(v[j].clone());
            j += 1;
        }
    }
    tmp.extend_from_slice(&v[i..n1]);
    // Whatever is left of the right run is already in place.
    let done = tmp.len();
    v[..done].clone_from_slice(tmp);
}

/// Sorts enough of `v` that ranks `lrange..=rrange` hold the elements a full sort would put
/// there (Valkey's `pqsort`, same comparisons and swaps).
pub fn partial_quicksort<T>(
    v: &mut [T],
    cmp: &impl Fn(&T, &T) -> Ordering,
    lrange: usize,
    rrange: usize,
) {
    pq(v, 0, v.len(), cmp, lrange, rrange);
}

/// Index of the median of three (`med3`).
fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> usize {
    let lt = |x: usize, y: usize| cmp(&v[x], &v[y]) == Ordering::Less;
    let gt = |x: usize, y: usize| cmp(&v[x], &v[y]) == Ordering::Greater;
    if lt(a, b) {
        if lt(b, c) {
            b
        } else if lt(a, c) {
            c
        } else {
            a
        }
    } else if gt(b, c) {
        b
    } else if lt(a, c) {
        a
    } else {
        c
    }
}

/// Swaps `n` elements from `a` with `n` elements from `b`, pairwise (`vecswap`).
fn vecswap<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for k in 0..n {
        v.swap(a + k, b + k);
    }
}

/// True if `lrange..=rrange` overlaps `start..start + n`.
fn overlaps(start: usize, n: usize, lrange: usize, rrange: usize) -> bool {
    lrange < start + n && rrange >= start
}

fn pq<T>(
    v: &mut [T],
    mut a: usize,
    mut n: usize,
    cmp: &impl Fn(&T, &T) -> Ordering,
    lrange: usize,
    rrange: usize,
) {
    loop {
        if n < 7 {
            for pm in a + 1..a + n {
                let mut pl = pm;
                while pl > a && cmp(&v[pl - 1], &v[pl]) == Ordering::Greater {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        // Signed positions: `pc` may step just below `pb`.
        let (mut pa, mut pb) = (a as isize + 1, a as isize + 1);
        let (mut pc, mut pd) = ((a + n - 1) as isize, (a + n - 1) as isize);
        loop {
            while pb <= pc {
                let r = cmp(&v[pb as usize], &v[a]);
                if r == Ordering::Greater {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pa as usize, pb as usize);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let r = cmp(&v[pc as usize], &v[a]);
                if r == Ordering::Less {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pc as usize, pd as usize);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb as usize, pc as usize);
            pb += 1;
            pc -= 1;
        }
        let pn = (a + n) as isize;
        let r = (pa - a as isize).min(pb - pa);
        vecswap(v, a, (pb - r) as usize, r as usize);
        let r = (pd - pc).min(pn - pd - 1);
        vecswap(v, pb as usize, (pn - r) as usize, r as usize);
        let r = (pb - pa) as usize;
        if r > 1 && overlaps(a, r, lrange, rrange) {
            pq(v, a, r, cmp, lrange, rrange);
        }
        let r = (pd - pc) as usize;
        if r > 1 {
            a = pn as usize - r;
            n = r;
            if overlaps(a, n, lrange, rrange) {
                continue;
            }
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed >> 33
    }

    #[test]
    fn merge_sort_is_stable() {
        let mut seed = 7;
        let mut v: Vec<(u64, usize)> = (0..500).map(|i| (lcg(&mut seed) % 20, i)).collect();
        let mut expect = v.clone();
        expect.sort_by_key(|p| p.0);
        merge_sort(&mut v, &|a: &(u64, usize), b: &(u64, usize)| a.0.cmp(&b.0));
        assert_eq!(v, expect);
    }

    #[test]
    fn partial_sort_gets_the_prefix_right() {
        let mut seed = 11;
        for n in [0usize, 1, 5, 7, 8, 39, 41, 300] {
            for k in [1usize, 2, 10, 50] {
                let k = k.min(n.max(1));
                let mut v: Vec<u64> = (0..n).map(|_| lcg(&mut seed) % 1000).collect();
                let mut full = v.clone();
                full.sort();
                if n == 0 {
                    continue;
                }
                partial_quicksort(&mut v, &|a: &u64, b: &u64| a.cmp(b), 0, k - 1);
                assert_eq!(&v[..k], &full[..k], "n={n} k={k}");
            }
        }
        // An inconsistent comparator must not panic.
        let mut v: Vec<f64> = (0..100)
            .map(|i| if i % 3 == 0 { f64::NAN } else { i as f64 })
            .collect();
        let c = |a: &f64, b: &f64| {
            if a > b {
                Ordering::Greater
            } else if a == b {
                Ordering::Equal
            } else {
                Ordering::Less
            }
        };
        partial_quicksort(&mut v, &c, 0, 9);
        merge_sort(&mut v, &c);
    }
}
