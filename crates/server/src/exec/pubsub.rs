//! Pub/Sub: channel, pattern and shard-channel subscriptions, PUBLISH / SPUBLISH, PUBSUB, and
//! the message formats of RESP2 (arrays) and RESP3 (push).
//!
//! Shard channels (SSUBSCRIBE / SPUBLISH) are a namespace of their own, as in a standalone
//! Valkey: a shard channel and a channel of the same name do not see each other's messages,
//! patterns never match shard channels, and a client's shard subscriptions are counted apart
//! (the count SSUBSCRIBE / SUNSUBSCRIBE report). Not here: who may subscribe (the core's
//! checks) and propagation.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use commands::errors;
use resp::Reply;

use crate::net::{Client, Net};

/// The three kinds of subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn subscribe_name(self) -> &'static str {
        match self {
            Kind::Channel => "subscribe",
            Kind::Pattern => "psubscribe",
            Kind::Shard => "ssubscribe",
        }
    }

    fn unsubscribe_name(self) -> &'static str {
        match self {
            Kind::Channel => "unsubscribe",
            Kind::Pattern => "punsubscribe",
            Kind::Shard => "sunsubscribe",
        }
    }

    /// The client's own set for this kind.
    fn of(self, c: &mut Client) -> &mut HashSet<Bytes> {
        match self {
            Kind::Channel => &mut c.channels,
            Kind::Pattern => &mut c.patterns,
            Kind::Shard => &mut c.shard_channels,
        }
    }

    /// The count a confirmation reports: channels and patterns together, shard channels
    /// apart.
    fn count(self, c: &Client) -> usize {
        match self {
            Kind::Shard => c.shard_channels.len(),
            _ => c.channels.len() + c.patterns.len(),
        }
    }
}

#[derive(Default)]
pub struct PubSub {
    /// Channel → subscriber client ids, in subscription order.
    channels: HashMap<Bytes, Vec<u64>>,
    /// Pattern → subscriber client ids.
    patterns: HashMap<Bytes, Vec<u64>>,
    /// Patterns in first-subscription order (delivery order).
    pattern_order: Vec<Bytes>,
    /// Shard channel → subscriber client ids.
    shard: HashMap<Bytes, Vec<u64>>,
}

impl PubSub {
    /// Forgets every subscription of a client (it is freed or RESET).
    pub fn unsubscribe_all(&mut self, c: &mut Client) {
        for ch in c.channels.drain() {
            remove_sub(&mut self.channels, &ch, c.id);
        }
        for p in c.patterns.drain() {
            if remove_sub(&mut self.patterns, &p, c.id) {
                self.pattern_order.retain(|x| *x != p);
            }
        }
        for ch in c.shard_channels.drain() {
            remove_sub(&mut self.shard, &ch, c.id);
        }
    }

    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Shard channels with at least one subscriber (`pubsubshard_channels`).
    pub fn shard_channel_count(&self) -> usize {
        self.shard.len()
    }

    fn map(&mut self, kind: Kind) -> &mut HashMap<Bytes, Vec<u64>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    fn add(&mut self, kind: Kind, name: &Bytes, id: u64) {
        let subs = self.map(kind).entry(name.clone()).or_default();
        let first = subs.is_empty();
        subs.push(id);
        if kind == Kind::Pattern && first {
            self.pattern_order.push(name.clone());
        }
    }

    fn remove(&mut self, kind: Kind, name: &Bytes, id: u64) {
        if remove_sub(self.map(kind), name, id) && kind == Kind::Pattern {
            self.pattern_order.retain(|x| x != name);
        }
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

fn confirm(kind: &'static str, name: Option<&Bytes>, count: usize) -> Reply {
    Reply::Push(vec![
        Reply::bulk(kind.as_bytes()),
        name.map_or(Reply::Nil, |n| Reply::Bulk(n.clone())),
        Reply::Int(count as i64),
    ])
}

/// SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE: one confirmation per argument.
pub fn subscribe(ps: &mut PubSub, c: &mut Client, argv: &[Bytes], kind: Kind) -> Reply {
    let mut replies: Vec<Reply> = Vec::with_capacity(argv.len().saturating_sub(1));
    for name in argv.iter().skip(1) {
        if kind.of(c).insert(name.clone()) {
            ps.add(kind, name, c.id);
        }
        replies.push(confirm(kind.subscribe_name(), Some(name), kind.count(c)));
    }
    Reply::Seq(replies)
}

/// UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE: the named ones, or all when none are named
/// (one confirmation with a null name when there were none).
pub fn unsubscribe(ps: &mut PubSub, c: &mut Client, argv: &[Bytes], kind: Kind) -> Reply {
    let names: Vec<Bytes> = if argv.len() > 1 {
        argv[1..].to_vec()
    } else {
        kind.of(c).iter().cloned().collect()
    };
    if names.is_empty() {
        return confirm(kind.unsubscribe_name(), None, kind.count(c));
    }
    let mut replies = Vec::with_capacity(names.len());
    for name in names {
        if kind.of(c).remove(&name) {
            ps.remove(kind, &name, c.id);
        }
        replies.push(confirm(kind.unsubscribe_name(), Some(&name), kind.count(c)));
    }
    Reply::Seq(replies)
}

/// Delivers a message to the subscribers of a channel and of the patterns matching it;
/// returns the number of receivers.
pub fn publish(ps: &PubSub, net: &mut Net, channel: &Bytes, message: &Bytes) -> usize {
    let mut receivers = deliver(net, ps.channels.get(channel), b"message", channel, message);
    for pat in &ps.pattern_order {
        if !types::glob::glob_match(pat, channel, false) {
            continue;
        }
        let msg = Reply::Push(vec![
            Reply::bulk(b"pmessage"),
            Reply::Bulk(pat.clone()),
            Reply::Bulk(channel.clone()),
            Reply::Bulk(message.clone()),
        ]);
        for &id in ps.patterns.get(pat).map_or(&[][..], Vec::as_slice) {
            if let Some(c) = net.client_by_id(id) {
                msg.encode(c.resp, c.push_out());
                receivers += 1;
            }
        }
    }
    receivers
}

/// SPUBLISH: delivers an `smessage` to the subscribers of a shard channel (patterns do not
/// apply); returns the number of receivers.
pub fn spublish(ps: &PubSub, net: &mut Net, channel: &Bytes, message: &Bytes) -> usize {
    deliver(net, ps.shard.get(channel), b"smessage", channel, message)
}

fn deliver(
    net: &mut Net,
    ids: Option<&Vec<u64>>,
    kind: &'static [u8],
    channel: &Bytes,
    message: &Bytes,
) -> usize {
    let Some(ids) = ids else { return 0 };
    let msg = Reply::Push(vec![
        Reply::bulk(kind),
        Reply::Bulk(channel.clone()),
        Reply::Bulk(message.clone()),
    ]);
    let mut receivers = 0;
    for &id in ids {
        if let Some(c) = net.client_by_id(id) {
            msg.encode(c.resp, c.push_out());
            receivers += 1;
        }
    }
    receivers
}

fn channel_list(map: &HashMap<Bytes, Vec<u64>>, pattern: Option<&Bytes>) -> Reply {
    Reply::Array(
        map.keys()
            .filter(|ch| pattern.is_none_or(|p| types::glob::glob_match(p, ch, false)))
            .map(|ch| Reply::Bulk(ch.clone()))
            .collect(),
    )
}

fn numsub(map: &HashMap<Bytes, Vec<u64>>, names: &[Bytes]) -> Reply {
    let mut out = Vec::with_capacity(names.len() * 2);
    for ch in names {
        out.push(Reply::Bulk(ch.clone()));
        out.push(Reply::Int(map.get(ch).map_or(0, Vec::len) as i64));
    }
    Reply::Array(out)
}

/// PUBSUB CHANNELS [pattern] | NUMSUB [channel...] | NUMPAT | SHARDCHANNELS [pattern] |
/// SHARDNUMSUB [shardchannel...] | HELP
pub fn pubsub_command(ps: &PubSub, argv: &[Bytes]) -> Reply {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    let argc = argv.len();
    match sub.as_str() {
        "help" if argc == 2 => crate::util::help_reply("PUBSUB", HELP),
        "channels" if argc <= 3 => channel_list(&ps.channels, argv.get(2)),
        "numsub" => numsub(&ps.channels, &argv[2..]),
        "numpat" if argc == 2 => Reply::Int(ps.patterns.len() as i64),
        "shardchannels" if argc <= 3 => channel_list(&ps.shard, argv.get(2)),
        "shardnumsub" => numsub(&ps.shard, &argv[2..]),
        _ => errors::subcommand_syntax(&argv[0], &argv[1]),
    }
}

const HELP: &[&str] = &[
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
];
