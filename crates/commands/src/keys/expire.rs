//! EXPIRE PEXPIRE EXPIREAT PEXPIREAT (with NX XX GT LT), TTL PTTL EXPIRETIME PEXPIRETIME and
//! PERSIST.
//!
//! Propagation follows Redis: a relative or second-based expire is sent to replicas as
//! `PEXPIREAT key <absolute ms> [options]`; an expire time already in the past deletes the key
//! and is sent as `DEL key` (or `UNLINK key` with lazy freeing of server deletions).

use bytes::Bytes;
use resp::Reply;

use crate::args::{self, is};
use crate::ctx::{argv, Ctx};
use crate::errors::{self, err};
use crate::notify;

use super::{free_value, read_notouch};

/// The NX / XX / GT / LT conditions.
#[derive(Clone, Copy, Default)]
struct Conditions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl Conditions {
    fn parse(opts: &[Bytes]) -> Result<Conditions, Reply> {
        let mut c = Conditions::default();
        for opt in opts {
            if is(opt, "nx") {
                c.nx = true;
            } else if is(opt, "xx") {
                c.xx = true;
            } else if is(opt, "gt") {
                c.gt = true;
            } else if is(opt, "lt") {
                c.lt = true;
            } else {
                return Err(errors::unsupported_option(opt));
            }
        }
        if c.nx && (c.xx || c.gt || c.lt) {
            return Err(err(errors::EXPIRE_NX_EXCLUSIVE));
        }
        if c.gt && c.lt {
            return Err(err(errors::EXPIRE_GT_LT));
        }
        Ok(c)
    }

    /// True if the new expire `when` may replace `current` (`None` = no expire, which GT and LT
    /// treat as an infinite TTL).
    fn allow(self, current: Option<i64>, when: i64) -> bool {
        if (self.nx && current.is_some()) || (self.xx && current.is_none()) {
            return false;
        }
        if self.gt && current.is_none_or(|c| when <= c) {
            return false;
        }
        !(self.lt && current.is_some_and(|c| when >= c))
    }
}

/// The absolute expire time in ms from the time argument, with Redis's overflow checks.
/// Negative and past values are allowed (they delete the key).
fn absolute_ms(arg: &[u8], base_ms: i64, seconds: bool, cmd: &str) -> Result<i64, Reply> {
    let mut when = args::int(arg)?;
    if seconds {
        when = when
            .checked_mul(1000)
            .ok_or_else(|| errors::invalid_expire_time(cmd))?;
    }
    when.checked_add(base_ms)
        .ok_or_else(|| errors::invalid_expire_time(cmd))
}

fn expire_generic(ctx: &mut Ctx, a: &[Bytes], relative: bool, seconds: bool, cmd: &str) -> Reply {
    let cond = match Conditions::parse(&a[3..]) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let base = if relative { ctx.now_ms() } else { 0 };
    let when = match absolute_ms(&a[2], base, seconds, cmd) {
        Ok(w) => w,
        Err(e) => return e,
    };
    let key = &a[1];
    let Some(current) = ctx.ks.get(ctx.db, key).map(|o| o.expire_ms()) else {
        return Reply::Int(0);
    };
    if !cond.allow(current, when) {
        return Reply::Int(0);
    }
    ctx.dirty += 1;
    if ctx.ks.already_expired(when) {
        let lazy = ctx.settings.lazyfree_lazy_server_del;
        if let Some(old) = ctx.ks.remove(ctx.db, key) {
            free_value(old, lazy);
        }
        let del: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
        ctx.propagate(argv([del, key]));
        ctx.notify(notify::GENERIC, "del", key);
        return Reply::Int(1);
    }
    ctx.ks.set_expire(ctx.db, key, Some(when));
    ctx.notify(notify::GENERIC, "expire", key);
    if relative || seconds {
        let mut cmd = argv([&b"PEXPIREAT"[..], key, when.to_string().as_bytes()]);
        cmd.extend(a[3..].iter().cloned());
        ctx.propagate(cmd);
    }
    Reply::Int(1)
}

pub fn expire(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    expire_generic(ctx, a, true, true, "expire")
}

pub fn pexpire(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    expire_generic(ctx, a, true, false, "pexpire")
}

pub fn expireat(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    expire_generic(ctx, a, false, true, "expireat")
}

pub fn pexpireat(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    expire_generic(ctx, a, false, false, "pexpireat")
}

/// TTL family: -2 for a missing key, -1 without expire, else the remaining time (never
/// negative) or the absolute time, in seconds (rounded) or milliseconds.
fn ttl_generic(ctx: &mut Ctx, a: &[Bytes], ms: bool, absolute: bool) -> Reply {
    let now = ctx.now_ms();
    let Some(obj) = read_notouch(ctx.ks, ctx.db, &a[1]) else {
        return Reply::Int(-2);
    };
    let Some(expire) = obj.expire_ms() else {
        return Reply::Int(-1);
    };
    let t = if absolute {
        expire
    } else {
        expire.saturating_sub(now)
    }
    .max(0);
    // Rounded in wide arithmetic: Redis's `(ttl + 500) / 1000` gives the exact quotient even
    // for expire times near i64::MAX.
    Reply::Int(if ms {
        t
    } else {
        ((i128::from(t) + 500) / 1000) as i64
    })
}

pub fn ttl(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    ttl_generic(ctx, a, false, false)
}

pub fn pttl(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    ttl_generic(ctx, a, true, false)
}

pub fn expiretime(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    ttl_generic(ctx, a, false, true)
}

pub fn pexpiretime(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    ttl_generic(ctx, a, true, true)
}

pub fn persist(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let has_expire = ctx
        .ks
        .get(ctx.db, &a[1])
        .is_some_and(|o| o.expire_ms().is_some());
    if !has_expire {
        return Reply::Int(0);
    }
    ctx.ks.set_expire(ctx.db, &a[1], None);
    ctx.notify(notify::GENERIC, "persist", &a[1]);
    ctx.dirty += 1;
    Reply::Int(1)
}
