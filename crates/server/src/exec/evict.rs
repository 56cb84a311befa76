//! maxmemory enforcement: Redis's sampled approximation of LRU/LFU/TTL/random eviction, with
//! a small pool of the best candidates kept across rounds.

use bytes::Bytes;

use crate::config::value::MaxmemoryPolicy;

use crate::config::Config;
use crate::exec::Exec;

/// Bytes allocated, as jemalloc reports (`used_memory`).
pub fn used_memory() -> u64 {
    use tikv_jemalloc_ctl::{epoch, stats};
    let _ = epoch::advance();
    stats::allocated::read().map(|v| v as u64).unwrap_or(0)
}

/// Frees memory if above maxmemory. Returns true if the command must be refused with -OOM.
/// Each eviction propagates its DEL/UNLINK as its own execution unit (in `exec.prop`).
/// `is_replica`: replicas ignore maxmemory unless `replica-ignore-maxmemory no`;
/// `for_replicas`: memory held for replicas, which does not count against maxmemory (Redis
/// excludes it; [`crate::repl::state::Repl::replica_memory`]).
pub fn perform_evictions(
    exec: &mut Exec,
    cfg: &Config,
    is_replica: bool,
    for_replicas: u64,
) -> bool {
    let maxmemory = cfg.maxmemory_bytes;
    if maxmemory == 0 || (is_replica && cfg.replica_ignore_maxmemory) {
        return false;
    }
    let used = used_memory().saturating_sub(for_replicas);
    if used <= maxmemory {
        return false;
    }
    let policy = cfg.maxmemory_policy;
    if policy == MaxmemoryPolicy::Noeviction {
        return true;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(50);
    let mut freed_any = false;
    while used_memory().saturating_sub(for_replicas) > maxmemory {
        let Some((db, key)) = pick_victim(exec, cfg, policy.name()) else {
            break;
        };
        if let Some(old) = exec.ks.remove(db, &key) {
            if cfg.lazyfree_lazy_eviction {
                keyspace::lazyfree::free(old);
            }
        }
        exec.ks.stats.evicted_keys += 1;
        let cmd: &'static [u8] = if cfg.lazyfree_lazy_eviction {
            b"UNLINK"
        } else {
            b"DEL"
        };
        let key = Bytes::from(key);
        if cfg.notify_keyspace_events.0 & commands::notify::EVICTED != 0 {
            exec.events.push(commands::notify::KeyEvent {
                class: commands::notify::EVICTED,
                event: "evicted",
                key: key.clone(),
                db,
            });
        }
        exec.prop.push(db, vec![Bytes::from_static(cmd), key]);
        exec.prop.end_unit();
        freed_any = true;
        if std::time::Instant::now() > deadline {
            break;
        }
    }
    let still_over = used_memory().saturating_sub(for_replicas) > maxmemory;
    still_over && !freed_any
}

/// Best candidate among sampled keys for the policy.
fn pick_victim(exec: &mut Exec, cfg: &Config, policy: &str) -> Option<(usize, Vec<u8>)> {
    let volatile = policy.starts_with("volatile");
    let samples = cfg.maxmemory_samples.max(1) as usize;
    let mut best: Option<(u64, usize, Vec<u8>)> = None;
    for db in 0..exec.ks.db_count() {
        let d = exec.ks.db(db);
        if (volatile && d.expires_len() == 0) || d.is_empty() {
            continue;
        }
        for key in exec.ks.sample(db, samples, volatile) {
            let Some(obj) = exec.ks.db(db).get(&key) else {
                continue;
            };
            let score = if policy.ends_with("random") {
                return Some((db, key));
            } else if policy.ends_with("lru") {
                exec.ks.lru.idle_ms(obj)
            } else if policy.ends_with("lfu") {
                255 - exec.ks.lru.lfu_decayed(obj.lru()) as u64
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
