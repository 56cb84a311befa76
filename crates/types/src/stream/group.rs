//! Consumer groups: last delivered ID, read counter, the pending entries list (PEL, ordered by
//! ID) and the consumers, each with its own PEL.
//!
//! A PEL entry ([`Nack`]) names its owner; the owner's PEL holds the same ID. Every change of
//! ownership goes through [`Group`] so both lists always agree. The PELs are copy-on-write
//! B+trees: a snapshot of a group with a large PEL shares it, and a later acknowledgement copies
//! one leaf and its path.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::id::StreamId;
use crate::btree::CountedBTree;

/// A consumer as loaded: name, seen time, active time, pending IDs.
pub(crate) type LoadedConsumer = (Arc<[u8]>, i64, i64, Vec<StreamId>);

/// `SCG_INVALID_ENTRIES_READ`: the group's read counter is unknown.
pub const INVALID_ENTRIES_READ: i64 = -1;

/// A delivered, not yet acknowledged entry (`streamNACK`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nack {
    pub id: StreamId,
    /// Last delivery, unix ms.
    pub delivery_time_ms: i64,
    pub delivery_count: u64,
    /// The consumer it was last delivered to.
    pub consumer: Arc<[u8]>,
}

#[derive(Clone, Debug, Default)]
pub struct Consumer {
    /// Last attempted interaction (read or claim), unix ms.
    pub seen_time_ms: i64,
    /// Last successful interaction, unix ms; -1 = never.
    pub active_time_ms: i64,
    pel: CountedBTree<StreamId>,
}

impl Consumer {
    /// Entries pending for this consumer.
    pub fn pending(&self) -> usize {
        self.pel.len()
    }

    /// Its pending IDs from `start` on, in order.
    pub fn pel_from(&self, start: StreamId) -> impl Iterator<Item = StreamId> + '_ {
        let rank = self.pel.count_before(|x| x.cmp(&start));
        self.pel.iter_from(rank).copied()
    }
}

#[derive(Clone, Debug)]
pub struct Group {
    pub last_id: StreamId,
    pub entries_read: i64,
    pel: CountedBTree<Nack>,
    consumers: BTreeMap<Arc<[u8]>, Consumer>,
}

fn by_id(id: StreamId) -> impl Fn(&Nack) -> Ordering {
    move |n| n.id.cmp(&id)
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group {
            last_id,
            entries_read,
            pel: CountedBTree::new(),
            consumers: BTreeMap::new(),
        }
    }

    // --- the PEL ---------------------------------------------------------------------------

    pub fn pel_len(&self) -> usize {
        self.pel.len()
    }

    pub fn pel_get(&self, id: StreamId) -> Option<&Nack> {
        let rank = self.pel.count_before(by_id(id));
        self.pel.get(rank).filter(|n| n.id == id)
    }

    /// PEL entries from `start` on, in ID order.
    pub fn pel_from(&self, start: StreamId) -> impl Iterator<Item = &Nack> + '_ {
        let rank = self.pel.count_before(by_id(start));
        self.pel.iter_from(rank)
    }

    pub fn pel_first(&self) -> Option<&Nack> {
        self.pel.get(0)
    }

    pub fn pel_last(&self) -> Option<&Nack> {
        self.pel.len().checked_sub(1).and_then(|r| self.pel.get(r))
    }

    fn pel_mut(&mut self, id: StreamId) -> Option<&mut Nack> {
        let rank = self.pel.count_before(by_id(id));
        self.pel.get_mut(rank).filter(|n| n.id == id)
    }

    /// Removes a PEL entry from the group and its owner (XACK, deleted entries).
    pub fn remove_nack(&mut self, id: StreamId) -> Option<Nack> {
        let nack = self.pel.remove_by(by_id(id))?;
        if let Some(c) = self.consumers.get_mut(&nack.consumer) {
            c.pel.remove_by(|x| x.cmp(&id));
        }
        Some(nack)
    }

    /// Records a delivery of `id` to `consumer` by XREADGROUP: a new PEL entry, or an existing
    /// one moved to `consumer` with its count reset to 1.
    pub fn deliver(&mut self, id: StreamId, consumer: &[u8], now_ms: i64) {
        let Some(name) = self.consumer_name(consumer) else {
            return;
        };
        if let Some(old) = self.pel_get(id).map(|n| n.consumer.clone()) {
            self.move_owner(id, &old, &name);
            if let Some(n) = self.pel_mut(id) {
                n.consumer = name;
                n.delivery_time_ms = now_ms;
                n.delivery_count = 1;
            }
            return;
        }
        self.pel.insert_by(
            Nack {
                id,
                delivery_time_ms: now_ms,
                delivery_count: 1,
                consumer: name.clone(),
            },
            |a, b| a.id.cmp(&b.id),
        );
        if let Some(c) = self.consumers.get_mut(&name) {
            c.pel.insert_by(id, |a, b| a.cmp(b));
        }
    }

    /// Gives `id` to `consumer` (XCLAIM/XAUTOCLAIM), creating the PEL entry if missing (FORCE),
    /// with the given delivery time and count.
    pub fn claim(&mut self, id: StreamId, consumer: &[u8], time_ms: i64, count: u64) {
        let Some(name) = self.consumer_name(consumer) else {
            return;
        };
        match self.pel_get(id).map(|n| n.consumer.clone()) {
            Some(old) => {
                if *old != *name {
                    self.move_owner(id, &old, &name);
                }
                if let Some(n) = self.pel_mut(id) {
                    n.consumer = name;
                    n.delivery_time_ms = time_ms;
                    n.delivery_count = count;
                }
            }
            None => {
                self.pel.insert_by(
                    Nack {
                        id,
                        delivery_time_ms: time_ms,
                        delivery_count: count,
                        consumer: name.clone(),
                    },
                    |a, b| a.id.cmp(&b.id),
                );
                if let Some(c) = self.consumers.get_mut(&name) {
                    c.pel.insert_by(id, |a, b| a.cmp(b));
                }
            }
        }
    }

    /// A new delivery of an entry already owned (XREADGROUP reading its own history).
    pub fn redeliver(&mut self, id: StreamId, now_ms: i64) {
        if let Some(n) = self.pel_mut(id) {
            n.delivery_time_ms = now_ms;
            n.delivery_count = n.delivery_count.wrapping_add(1);
        }
    }

    fn move_owner(&mut self, id: StreamId, from: &[u8], to: &Arc<[u8]>) {
        if let Some(c) = self.consumers.get_mut(from) {
            c.pel.remove_by(|x| x.cmp(&id));
        }
        if let Some(c) = self.consumers.get_mut(to) {
            c.pel.insert_by(id, |a, b| a.cmp(b));
        }
    }

    /// The shared name of an existing consumer.
    fn consumer_name(&self, name: &[u8]) -> Option<Arc<[u8]>> {
        self.consumers.get_key_value(name).map(|(k, _)| k.clone())
    }

    // --- consumers ---------------------------------------------------------------------------

    pub fn consumer_count(&self) -> usize {
        self.consumers.len()
    }

    pub fn consumer(&self, name: &[u8]) -> Option<&Consumer> {
        self.consumers.get(name)
    }

    pub fn consumer_mut(&mut self, name: &[u8]) -> Option<&mut Consumer> {
        self.consumers.get_mut(name)
    }

    /// Consumers in name order.
    pub fn consumers(&self) -> impl Iterator<Item = (&[u8], &Consumer)> + '_ {
        self.consumers.iter().map(|(k, c)| (&**k, c))
    }

    /// Creates a consumer (`streamCreateConsumer`); false if it exists.
    pub fn create_consumer(&mut self, name: &[u8], now_ms: i64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers.insert(
            Arc::from(name),
            Consumer {
                seen_time_ms: now_ms,
                active_time_ms: -1,
                pel: CountedBTree::new(),
            },
        );
        true
    }

    /// Deletes a consumer and its pending entries (`streamDelConsumer`); returns how many
    /// entries it had pending, or `None` if there is no such consumer.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        let pending = c.pel.len();
        for id in c.pel.iter() {
            let id = *id;
            self.pel.remove_by(by_id(id));
        }
        Some(pending)
    }

    /// Heap bytes (approximate).
    pub fn mem_usage(&self) -> usize {
        let consumers: usize = self
            .consumers
            .iter()
            .map(|(k, c)| 64 + k.len() + c.pel.node_bytes())
            .sum();
        128 + self.pel.node_bytes() + consumers
    }

    /// A group from loaded parts (RDB): `nacks` sorted by ID and distinct, each naming one of
    /// `consumers`; each consumer's pending IDs sorted and distinct.
    pub(crate) fn from_parts(
        last_id: StreamId,
        entries_read: i64,
        nacks: Vec<Nack>,
        consumers: Vec<LoadedConsumer>,
    ) -> Group {
        let consumers = consumers
            .into_iter()
            .map(|(name, seen, active, ids)| {
                let c = Consumer {
                    seen_time_ms: seen,
                    active_time_ms: active,
                    pel: CountedBTree::from_sorted_iter(ids),
                };
                (name, c)
            })
            .collect();
        Group {
            last_id,
            entries_read,
            pel: CountedBTree::from_sorted_iter(nacks),
            consumers,
        }
    }
}

/// Consumer groups by name (in name order, as Valkey's radix tree lists them).
#[derive(Clone, Debug, Default)]
pub struct Groups(BTreeMap<Vec<u8>, Group>);

impl Groups {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, name: &[u8]) -> Option<&Group> {
        self.0.get(name)
    }

    pub fn get_mut(&mut self, name: &[u8]) -> Option<&mut Group> {
        self.0.get_mut(name)
    }

    /// Adds a group; false if one with this name exists.
    pub fn create(&mut self, name: &[u8], last_id: StreamId, entries_read: i64) -> bool {
        if self.0.contains_key(name) {
            return false;
        }
        self.0
            .insert(name.to_vec(), Group::new(last_id, entries_read));
        true
    }

    pub fn remove(&mut self, name: &[u8]) -> Option<Group> {
        self.0.remove(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Group)> + '_ {
        self.0.iter().map(|(k, g)| (k.as_slice(), g))
    }

    pub(crate) fn insert_loaded(&mut self, name: Vec<u8>, g: Group) {
        self.0.insert(name, g);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64) -> StreamId {
        StreamId::new(ms, 0)
    }

    fn owned(g: &Group, c: &str) -> Vec<u64> {
        g.consumer(c.as_bytes())
            .map(|c| c.pel_from(id(0)).map(|i| i.ms).collect())
            .unwrap_or_default()
    }

    #[test]
    fn ownership_moves_keep_both_lists_in_step() {
        let mut g = Group::new(id(0), 0);
        assert!(g.create_consumer(b"a", 5));
        assert!(!g.create_consumer(b"a", 6));
        assert!(g.create_consumer(b"b", 5));
        g.deliver(id(1), b"a", 10);
        g.deliver(id(2), b"a", 10);
        g.deliver(id(3), b"b", 10);
        assert_eq!(owned(&g, "a"), [1, 2]);
        g.redeliver(id(2), 20);
        assert_eq!(g.pel_get(id(2)).map(|n| n.delivery_count), Some(2));
        g.deliver(id(2), b"b", 30);
        assert_eq!((owned(&g, "a"), owned(&g, "b")), (vec![1], vec![2, 3]));
        assert_eq!(
            g.pel_get(id(2))
                .map(|n| (n.delivery_count, n.delivery_time_ms)),
            Some((1, 30))
        );
        g.claim(id(1), b"b", 40, 7);
        g.claim(id(9), b"a", 41, 1);
        assert_eq!((owned(&g, "a"), owned(&g, "b")), (vec![9], vec![1, 2, 3]));
        assert!(g.remove_nack(id(2)).is_some());
        assert!(g.remove_nack(id(2)).is_none());
        assert_eq!(owned(&g, "b"), [1, 3]);
        assert_eq!(g.delete_consumer(b"b"), Some(2));
        assert_eq!(g.pel_len(), 1);
        assert_eq!(g.delete_consumer(b"b"), None);
        assert_eq!(g.pel_from(id(0)).map(|n| n.id.ms).collect::<Vec<_>>(), [9]);
    }
}
