//! Pub/Sub: channel and pattern subscriptions, PUBLISH, PUBSUB, and the message formats of
//! RESP2 (arrays) and RESP3 (push).

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use commands::errors;
use resp::Reply;

use crate::net::{Client, Net};

#[derive(Default)]
pub struct PubSub {
    /// Channel → subscriber client ids, in subscription order.
    channels: HashMap<Bytes, Vec<u64>>,
    /// Pattern → subscriber client ids.
    patterns: HashMap<Bytes, Vec<u64>>,
    /// Patterns in first-subscription order (delivery order).
    pattern_order: Vec<Bytes>,
}

impl PubSub {
    pub fn unsubscribe_all(
        &mut self,
        id: u64,
        channels: &HashSet<Bytes>,
        patterns: &HashSet<Bytes>,
    ) {
        for ch in channels {
            remove_sub(&mut self.channels, ch, id);
        }
        for p in patterns {
            if remove_sub(&mut self.patterns, p, id) {
                self.pattern_order.retain(|x| x != p);
            }
        }
    }

    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }
}

/// Removes `id` from `map[key]`; returns true if the entry became empty and was dropped.
fn remove_sub(map: &mut HashMap<Bytes, Vec<u64>>, key: &Bytes, id: u64) -> bool {
    if let Some(v) = map.get_mut(key) {
        v.retain(|&x| x != id);
        if v.is_empty() {
            map.remove(key);
            return true;
        }
    }
    false
}

fn push(parts: Vec<Reply>) -> Reply {
    Reply::Push(parts)
}

fn confirm(kind: &'static str, name: Option<&Bytes>, count: usize) -> Reply {
    push(vec![
        Reply::bulk(kind.as_bytes()),
        name.map_or(Reply::Nil, |n| Reply::Bulk(n.clone())),
        Reply::Int(count as i64),
    ])
}

/// SUBSCRIBE / PSUBSCRIBE: one confirmation per argument.
pub fn subscribe(ps: &mut PubSub, c: &mut Client, argv: &[Bytes], pattern: bool) -> Reply {
    let id = c.id;
    let mut replies: Vec<Reply> = Vec::with_capacity(argv.len() - 1);
    for name in &argv[1..] {
        let new = if pattern {
            c.patterns.insert(name.clone())
        } else {
            c.channels.insert(name.clone())
        };
        if new {
            let map = if pattern {
                &mut ps.patterns
            } else {
                &mut ps.channels
            };
            let subs = map.entry(name.clone()).or_default();
            if pattern && subs.is_empty() {
                ps.pattern_order.push(name.clone());
            }
            subs.push(id);
        }
        let count = c.channels.len() + c.patterns.len();
        replies.push(confirm(
            if pattern { "psubscribe" } else { "subscribe" },
            Some(name),
            count,
        ));
    }
    Reply::Seq(replies)
}

/// UNSUBSCRIBE / PUNSUBSCRIBE: the named ones, or all when none are named.
pub fn unsubscribe(ps: &mut PubSub, c: &mut Client, argv: &[Bytes], pattern: bool) -> Reply {
    let id = c.id;
    let kind = if pattern {
        "punsubscribe"
    } else {
        "unsubscribe"
    };
    let names: Vec<Bytes> = if argv.len() > 1 {
        argv[1..].to_vec()
    } else if pattern {
        c.patterns.iter().cloned().collect()
    } else {
        c.channels.iter().cloned().collect()
    };
    if names.is_empty() {
        let count = c.channels.len() + c.patterns.len();
        return confirm(kind, None, count);
    }
    let mut replies = Vec::with_capacity(names.len());
    for name in names {
        let removed = if pattern {
            c.patterns.remove(&name)
        } else {
            c.channels.remove(&name)
        };
        if removed {
            if pattern {
                if remove_sub(&mut ps.patterns, &name, id) {
                    ps.pattern_order.retain(|x| *x != name);
                }
            } else {
                remove_sub(&mut ps.channels, &name, id);
            }
        }
        let count = c.channels.len() + c.patterns.len();
        replies.push(confirm(kind, Some(&name), count));
    }
    Reply::Seq(replies)
}

/// Delivers a message; returns the number of receivers.
pub fn publish(ps: &PubSub, net: &mut Net, channel: &Bytes, message: &Bytes) -> usize {
    let mut receivers = 0;
    if let Some(ids) = ps.channels.get(channel) {
        let msg = push(vec![
            Reply::bulk(b"message"),
            Reply::Bulk(channel.clone()),
            Reply::Bulk(message.clone()),
        ]);
        for &id in ids {
            if let Some(c) = net.client_by_id(id) {
                msg.encode(c.resp, &mut c.out);
                receivers += 1;
            }
        }
    }
    for pat in &ps.pattern_order {
        if !types::glob::glob_match(pat, channel, false) {
            continue;
        }
        let msg = push(vec![
            Reply::bulk(b"pmessage"),
            Reply::Bulk(pat.clone()),
            Reply::Bulk(channel.clone()),
            Reply::Bulk(message.clone()),
        ]);
        for &id in ps.patterns.get(pat).map_or(&[][..], Vec::as_slice) {
            if let Some(c) = net.client_by_id(id) {
                msg.encode(c.resp, &mut c.out);
                receivers += 1;
            }
        }
    }
    receivers
}

/// PUBSUB CHANNELS [pattern] | NUMSUB [channel...] | NUMPAT | HELP
pub fn pubsub_command(ps: &PubSub, argv: &[Bytes]) -> Reply {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    match sub.as_str() {
        "channels" => {
            let pat = argv.get(2);
            let names: Vec<Reply> = ps
                .channels
                .keys()
                .filter(|ch| pat.is_none_or(|p| types::glob::glob_match(p, ch, false)))
                .map(|ch| Reply::Bulk(ch.clone()))
                .collect();
            Reply::Array(names)
        }
        "numsub" => {
            let mut out = Vec::new();
            for ch in &argv[2..] {
                out.push(Reply::Bulk(ch.clone()));
                out.push(Reply::Int(ps.channels.get(ch).map_or(0, Vec::len) as i64));
            }
            Reply::Array(out)
        }
        "numpat" => Reply::Int(ps.patterns.len() as i64),
        "help" => crate::util::help_reply(
            "PUBSUB",
            &[
                "CHANNELS [<pattern>]",
                "    Return the currently active channels matching a <pattern> (default: '*').",
                "NUMPAT",
                "    Return number of subscriptions to patterns.",
                "NUMSUB [<channel> ...]",
                "    Return the number of subscribers for the specified channels, excluding",
                "    pattern subscriptions(default: no channels).",
            ],
        ),
        _ => errors::unknown_subcommand("pubsub", &argv[1]),
    }
}
