//! `math.random` / `math.randomseed` as Redis replaces them: the `rand48` generator of
//! Redis's `rand.c` (so every platform yields the same sequence for a seed), one state for the
//! whole server, never reseeded between scripts (Valkey 8 behaviour).

use std::cell::Cell;
use std::ffi::c_int;
use std::rc::Rc;

use crate::ffi::*;
use crate::lua::{cstr, finish, guard, shared, Fail};

const X0: u32 = 0x330E;
const X1: u32 = 0xABCD;
const X2: u32 = 0x1234;
const A: [u32; 3] = [0xE66D, 0xDEEC, 0x5];
const C: u32 = 0xB;
const MASK: u32 = 0xFFFF;

/// Largest value [`Rand48::next_i32`] can return, plus one (`REDIS_LRAND48_MAX` is `INT32_MAX`).
pub const LRAND48_MAX: i32 = i32::MAX;

/// The 48-bit linear congruential generator of Redis's `rand.c`, in three 16-bit words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rand48 {
    x: [u32; 3],
}

impl Default for Rand48 {
    fn default() -> Self {
        Rand48 { x: [X0, X1, X2] }
    }
}

impl Rand48 {
    /// `serverSrand48`.
    pub fn seed(&mut self, seed: i32) {
        let s = seed as u32;
        self.x = [X0, s & MASK, (s >> 16) & MASK];
    }

    /// `serverLrand48`: a value in `0..2^31`.
    pub fn next_i32(&mut self) -> i32 {
        self.step();
        ((self.x[2] << 15) + (self.x[1] >> 1)) as i32
    }

    fn step(&mut self) {
        let x = self.x;
        let mul = |a: u32, b: u32| {
            let l = a.wrapping_mul(b);
            [l & MASK, (l >> 16) & MASK]
        };
        let carry = |a: u32, b: u32| u32::from(a.wrapping_add(b) > MASK);
        let mut p = mul(A[0], x[0]);
        let carry0 = carry(p[0], C);
        p[0] = p[0].wrapping_add(C) & MASK;
        let carry1 = carry(p[1], carry0);
        p[1] = p[1].wrapping_add(carry0) & MASK;
        let q = mul(A[0], x[1]);
        let carry0 = carry(p[1], q[0]);
        p[1] = p[1].wrapping_add(q[0]) & MASK;
        let r = mul(A[1], x[0]);
        let x2 = carry0
            .wrapping_add(carry1)
            .wrapping_add(carry(p[1], r[0]))
            .wrapping_add(q[1])
            .wrapping_add(r[1])
            .wrapping_add(A[0].wrapping_mul(x[2]))
            .wrapping_add(A[1].wrapping_mul(x[1]))
            .wrapping_add(A[2].wrapping_mul(x[0]));
        self.x = [p[0] & MASK, p[1].wrapping_add(r[0]) & MASK, x2 & MASK];
    }
}

/// The generator state shared by the EVAL and FUNCTION Lua states.
pub type SharedRand = Rc<Cell<Rand48>>;

pub(crate) unsafe extern "C-unwind" fn math_random(l: *mut lua_State) -> c_int {
    let rand = &shared(l).rand;
    let mut g = rand.get();
    let v = g.next_i32();
    rand.set(g);
    let r = (v % LRAND48_MAX) as f64 / LRAND48_MAX as f64;
    match lua_gettop(l) {
        0 => lua_pushnumber(l, r),
        1 => {
            let u = luaL_checkinteger(l, 1) as c_int;
            if u < 1 {
                luaL_argerror(l, 1, cstr!("interval is empty"));
            }
            lua_pushnumber(l, (r * u as f64).floor() + 1.0);
        }
        2 => {
            let lo = luaL_checkinteger(l, 1) as c_int;
            let up = luaL_checkinteger(l, 2) as c_int;
            if lo > up {
                luaL_argerror(l, 2, cstr!("interval is empty"));
            }
            let span = up.wrapping_sub(lo).wrapping_add(1);
            lua_pushnumber(l, (r * span as f64).floor() + lo as f64);
        }
        _ => {
            let r = guard(|| Err(Fail::Error(b"wrong number of arguments".to_vec())));
            return finish(l, r);
        }
    }
    1
}

pub(crate) unsafe extern "C-unwind" fn math_randomseed(l: *mut lua_State) -> c_int {
    let seed = luaL_checkinteger(l, 1) as c_int;
    let rand = &shared(l).rand;
    let mut g = rand.get();
    g.seed(seed);
    rand.set(g);
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_redis_rand48() {
        // The first values of the default state, as glibc's lrand48 (same constants) gives.
        let mut g = Rand48::default();
        let first: Vec<i32> = (0..3).map(|_| g.next_i32()).collect();
        assert_eq!(first, vec![851401618, 1804928587, 758783491]);
        g.seed(0);
        let mut h = Rand48::default();
        h.seed(0);
        assert_eq!(g.next_i32(), h.next_i32());
    }
}
