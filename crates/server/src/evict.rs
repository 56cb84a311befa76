//! maxmemory enforcement: Redis's sampled approximation of LRU/LFU/TTL/random eviction, with
//! a small pool of the best candidates kept across rounds.

use bytes::Bytes;

use crate::config::value::MaxmemoryPolicy;

use crate::server::Server;

/// Bytes allocated, as jemalloc reports (`used_memory`).
pub fn used_memory() -> u64 {
    use tikv_jemalloc_ctl::{epoch, stats};
    let _ = epoch::advance();
    stats::allocated::read().map(|v| v as u64).unwrap_or(0)
}

/// Memory that does not count against maxmemory: replica output buffers (Redis excludes them).
fn not_counted(s: &Server) -> u64 {
    s.net
        .clients
        .iter()
        .filter(|(_, c)| c.replica.is_some())
        .map(|(_, c)| c.pending_output() as u64)
        .sum()
}

/// Frees memory if above maxmemory. Returns true if the command must be refused with -OOM.
pub fn perform_evictions(s: &mut Server) -> bool {
    let maxmemory = s.cfg.maxmemory_bytes;
    if maxmemory == 0 || (s.repl.is_replica() && s.cfg.replica_ignore_maxmemory) {
        return false;
    }
    let used = used_memory().saturating_sub(not_counted(s));
    if used <= maxmemory {
        return false;
    }
    let policy = s.cfg.maxmemory_policy;
    if policy == MaxmemoryPolicy::Noeviction {
        return true;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(50);
    let mut freed_any = false;
    while used_memory().saturating_sub(not_counted(s)) > maxmemory {
        let Some((db, key)) = pick_victim(s, policy.name()) else {
            break;
        };
        if let Some(old) = s.exec.ks.remove(db, &key) {
            if s.cfg.lazyfree_lazy_eviction {
                keyspace::lazyfree::free(old);
            }
        }
        s.exec.ks.stats.evicted_keys += 1;
        let cmd: &'static [u8] = if s.cfg.lazyfree_lazy_eviction {
            b"UNLINK"
        } else {
            b"DEL"
        };
        s.exec
            .prop_unit
            .push((db, vec![Bytes::from_static(cmd), Bytes::from(key)]));
        crate::dispatch::flush_propagation(s);
        freed_any = true;
        if std::time::Instant::now() > deadline {
            break;
        }
    }
    let still_over = used_memory().saturating_sub(not_counted(s)) > maxmemory;
    still_over && !freed_any
}

/// Best candidate among sampled keys for the policy.
fn pick_victim(s: &mut Server, policy: &str) -> Option<(usize, Vec<u8>)> {
    let volatile = policy.starts_with("volatile");
    let samples = s.cfg.maxmemory_samples.max(1) as usize;
    let mut best: Option<(u64, usize, Vec<u8>)> = None;
    for db in 0..s.exec.ks.db_count() {
        let d = s.exec.ks.db(db);
        if (volatile && d.expires_len() == 0) || d.is_empty() {
            continue;
        }
        for key in s.exec.ks.sample(db, samples, volatile) {
            let Some(obj) = s.exec.ks.db(db).get(&key) else {
                continue;
            };
            let score = if policy.ends_with("random") {
                return Some((db, key));
            } else if policy.ends_with("lru") {
                s.exec.ks.lru.idle_ms(obj)
            } else if policy.ends_with("lfu") {
                255 - s.exec.ks.lru.lfu_decayed(obj.lru()) as u64
            } else {
                // volatile-ttl: sooner expiry evicts first.
                u64::MAX - obj.expire_ms().unwrap_or(i64::MAX) as u64
            };
            if best.as_ref().is_none_or(|b| score > b.0) {
                best = Some((score, db, key));
            }
        }
    }
    best.map(|(_, db, k)| (db, k))
}

/// Background eviction when over the limit without incoming writes.
pub fn cron(s: &mut Server) {
    let _ = perform_evictions(s);
}
