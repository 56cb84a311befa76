//! An order-statistic, copy-on-write B+tree: the rank/range index behind large sorted sets.
//!
//! [`CountedBTree`] keeps a sorted sequence of distinct elements and answers rank queries
//! ([`CountedBTree::count_before`], [`CountedBTree::get`]) and ordered iteration from any rank in
//! O(log n). It has no comparator of its own: every search takes a closure, so the same tree
//! serves lookups by (score, member), by score bound or by lexicographic bound.
//!
//! # Layout
//!
//! - A *leaf* is a `Vec<T>` of at most 64 elements. Its capacity follows its length in steps of
//!   `GROW` (8) elements and is trimmed after deletions, so a leaf costs `len * size_of::<T>()`
//!   bytes plus at most `2 * GROW` spare slots and a 40-byte header (`Arc` counts + `Vec`).
//!   Capacities that are multiples of 8 elements fall exactly on jemalloc size classes.
//! - An *inner node* keeps, for each child, a routing key (a clone of the child subtree's first
//!   element), the number of elements in the child subtree (for ranks), and the child pointer.
//! - Every node sits behind an [`Arc`]. Cloning the tree clones the root pointer (O(1)); a later
//!   mutation goes through [`Arc::make_mut`], copying only the shared nodes on the modified path.
//!   An insertion of an element already present, or a removal of an absent one, copies nothing.
//!
//! All leaves are at the same depth; every node except the root holds at least half its
//! capacity (leaves 32..=64 elements, inner nodes 32..=64 children). Removal merges with or
//! borrows from a sibling as needed. A full leaf first moves a few elements to a neighbour
//! with room and only splits when neither has any, so leaves stay well above half full under
//! random and sequential (timestamp-like) inserts alike: about 10 bytes per element in all
//! for `T` = `u64`, inner nodes included.
//!
//! # Routing keys
//!
//! Routing keys are kept *exact*: each one is a clone of an element currently in the tree (the
//! first element of its subtree), refreshed whenever that first element changes. So the tree
//! never holds on to a clone of an element that has been removed: for handle types (reference
//! counted nodes, arena indices) a removed element is really released. The flip side is that a
//! change made through [`CountedBTree::get_mut`] must not alter anything the comparators look
//! at, because routing clones would not see it; use [`CountedBTree::update_at`] for in-place
//! changes that keep the element's position but change how it compares.

#![forbid(unsafe_code)]

use std::cmp::Ordering;
use std::fmt;
use std::iter::FusedIterator;
use std::sync::Arc;

/// Vectors grow in steps of this many slots and keep at most twice this much slack.
const GROW: usize = 8;

/// Node capacities `(leaf elements, inner children)`: 64 and 64. Only the unit tests change
/// them (per thread, see `tests::with_caps`), to build deep trees from few elements.
#[cfg(not(test))]
#[inline(always)]
fn caps() -> (usize, usize) {
    (64, 64)
}

#[cfg(test)]
thread_local! {
    static CAPS: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((64, 64)) };
}

#[cfg(test)]
fn caps() -> (usize, usize) {
    CAPS.with(|c| c.get())
}

/// Maximum elements in a leaf.
#[inline(always)]
fn leaf_cap() -> usize {
    caps().0
}

/// Minimum elements in a leaf other than the root.
#[inline(always)]
fn leaf_min() -> usize {
    leaf_cap() / 2
}

/// Maximum children of an inner node.
#[inline(always)]
fn inner_cap() -> usize {
    caps().1
}

/// Minimum children of an inner node other than the root.
#[inline(always)]
fn inner_min() -> usize {
    inner_cap() / 2
}

/// Inner nodes briefly hold one child too many before they are split.
#[inline(always)]
fn inner_limit() -> usize {
    inner_cap() + 1
}

/// Leaf size used by [`CountedBTree::from_sorted_iter`] (56): leaves room for a few inserts.
#[inline(always)]
fn bulk_leaf() -> usize {
    leaf_cap() - leaf_cap() / 8
}

/// A full leaf moves elements to a neighbour only if it has at least this much room (8).
#[inline(always)]
fn shift_min() -> usize {
    (leaf_cap() / 8).max(2)
}

fn round_up(n: usize) -> usize {
    n.div_ceil(GROW) * GROW
}

/// Makes room for `extra` more slots, growing in steps of `GROW` but never past `limit`
/// (unless more than `limit` is needed).
fn grow<X>(v: &mut Vec<X>, extra: usize, limit: usize) {
    let need = v.len() + extra;
    if need > v.capacity() {
        let target = round_up(need).min(limit).max(need);
        v.reserve_exact(target - v.len());
    }
}

/// Gives back spare capacity once there is more than `2 * GROW` of it.
fn trim<X>(v: &mut Vec<X>) {
    if std::mem::size_of::<X>() != 0 && v.capacity() - v.len() > 2 * GROW {
        v.shrink_to(round_up(v.len() + GROW));
    }
}

/// Moves `v[at..]` into a new vector (with a little room to grow) and trims `v`.
fn split_vec<X>(v: &mut Vec<X>, at: usize, limit: usize) -> Vec<X> {
    let mut right = Vec::with_capacity(round_up(v.len() - at + 1).min(limit));
    right.extend(v.drain(at..));
    trim(v);
    right
}

/// Moves the last `n` slots of `src` to the front of `dst`.
fn move_tail_to_front<X>(src: &mut Vec<X>, dst: &mut Vec<X>, n: usize, limit: usize) {
    grow(dst, n, limit);
    let at = src.len() - n;
    dst.splice(0..0, src.drain(at..));
    trim(src);
}

/// Moves the first `n` slots of `src` to the end of `dst`.
fn move_front_to_tail<X>(src: &mut Vec<X>, dst: &mut Vec<X>, n: usize, limit: usize) {
    grow(dst, n, limit);
    dst.extend(src.drain(..n));
    trim(src);
}

#[derive(Clone)]
struct Leaf<T> {
    items: Vec<T>,
}

/// A node's own size (its element and child vectors), what copying it costs.
trait NodeBytes {
    fn node_bytes(&self) -> usize;
}

impl<T> NodeBytes for Leaf<T> {
    fn node_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.items.capacity() * std::mem::size_of::<T>()
    }
}

impl<T> NodeBytes for Inner<T> {
    fn node_bytes(&self) -> usize {
        let kids = match &self.kids {
            Kids::Leaves(v) => v.capacity(),
            Kids::Inners(v) => v.capacity(),
        };
        std::mem::size_of::<Self>()
            + self.keys.capacity() * std::mem::size_of::<T>()
            + self.counts.capacity() * std::mem::size_of::<usize>()
            + kids * std::mem::size_of::<usize>()
    }
}

/// Mutable access to a node, copying it first (counted in [`crate::cow`]) if a snapshot
/// shares it.
fn node_mut<N: Clone + NodeBytes>(node: &mut Arc<N>) -> &mut N {
    crate::cow::make_mut(node, N::node_bytes)
}

#[derive(Clone)]
struct Inner<T> {
    /// `keys[i]` is a clone of the first element of child `i`'s subtree.
    keys: Vec<T>,
    /// `counts[i]` is the number of elements in child `i`'s subtree.
    counts: Vec<usize>,
    kids: Kids<T>,
}

/// The children of an inner node: all leaves or all inner nodes (every leaf is at one depth).
#[derive(Clone)]
enum Kids<T> {
    Leaves(Vec<Arc<Leaf<T>>>),
    Inners(Vec<Arc<Inner<T>>>),
}

enum Root<T> {
    Leaf(Arc<Leaf<T>>),
    Inner(Arc<Inner<T>>),
}

impl<T> Clone for Root<T> {
    fn clone(&self) -> Self {
        match self {
            Root::Leaf(l) => Root::Leaf(Arc::clone(l)),
            Root::Inner(n) => Root::Inner(Arc::clone(n)),
        }
    }
}

/// A borrowed node of either kind.
enum NodeRef<'a, T> {
    Leaf(&'a Leaf<T>),
    Inner(&'a Inner<T>),
}

impl<T> Kids<T> {
    fn get(&self, i: usize) -> Option<NodeRef<'_, T>> {
        match self {
            Kids::Leaves(v) => v.get(i).map(|l| NodeRef::Leaf(l)),
            Kids::Inners(v) => v.get(i).map(|n| NodeRef::Inner(n)),
        }
    }
}

impl<T> Inner<T> {
    /// The child holding rank `r` of this subtree and the rank within that child.
    /// (Out of range gives an index past the end, which callers treat as "absent".)
    fn find_rank(&self, mut r: usize) -> (usize, usize) {
        for (i, &n) in self.counts.iter().enumerate() {
            if r < n {
                return (i, r);
            }
            r -= n;
        }
        (self.counts.len(), r)
    }
}

/// Operations shared by both node kinds, used by the rebalancing code of their parent.
trait Node<T>: Clone + NodeBytes {
    fn max_slots() -> usize;
    /// Elements (leaf) or children (inner node).
    fn slots(&self) -> usize;
    /// The first element of the subtree (the routing key for an inner node). Non-empty nodes only.
    fn first(&self) -> &T;
    /// Number of elements in the subtree.
    fn total(&self) -> usize;
    /// Moves slots `at..` into a new node; returns it and the number of elements moved.
    fn split_off(&mut self, at: usize) -> (Self, usize);
    /// Appends all of `other`'s slots (moved if `other` is unique, cloned otherwise).
    fn append(&mut self, other: Arc<Self>);
    /// Moves the last `n` slots of `left` to the front of `right`; returns the elements moved.
    fn shift_right(left: &mut Self, right: &mut Self, n: usize) -> usize;
    /// Moves the first `n` slots of `right` to the end of `left`; returns the elements moved.
    fn shift_left(left: &mut Self, right: &mut Self, n: usize) -> usize;
    fn into_kids(v: Vec<Arc<Self>>) -> Kids<T>;
}

impl<T: Clone> Node<T> for Leaf<T> {
    fn max_slots() -> usize {
        leaf_cap()
    }

    fn slots(&self) -> usize {
        self.items.len()
    }

    fn first(&self) -> &T {
        &self.items[0]
    }

    fn total(&self) -> usize {
        self.items.len()
    }

    fn split_off(&mut self, at: usize) -> (Self, usize) {
        let items = split_vec(&mut self.items, at, leaf_cap());
        let n = items.len();
        (Leaf { items }, n)
    }

    fn append(&mut self, other: Arc<Self>) {
        grow(&mut self.items, other.items.len(), leaf_cap());
        match Arc::try_unwrap(other) {
            Ok(o) => self.items.extend(o.items),
            Err(shared) => self.items.extend_from_slice(&shared.items),
        }
    }

    fn shift_right(left: &mut Self, right: &mut Self, n: usize) -> usize {
        move_tail_to_front(&mut left.items, &mut right.items, n, leaf_cap());
        n
    }

    fn shift_left(left: &mut Self, right: &mut Self, n: usize) -> usize {
        move_front_to_tail(&mut right.items, &mut left.items, n, leaf_cap());
        n
    }

    fn into_kids(v: Vec<Arc<Self>>) -> Kids<T> {
        Kids::Leaves(v)
    }
}

impl<T: Clone> Leaf<T> {
    fn insert_at(&mut self, pos: usize, item: T) {
        grow(&mut self.items, 1, leaf_cap());
        self.items.insert(pos, item);
    }

    /// Inserts into a full leaf by splitting it: `self` keeps the lower half, the upper half is
    /// returned. Both halves end with at least `leaf_min()` elements.
    fn split_insert(&mut self, pos: usize, item: T) -> Leaf<T> {
        let at = self.items.len() / 2;
        let (mut right, _) = self.split_off(at);
        if pos <= at {
            self.insert_at(pos, item);
        } else {
            right.insert_at(pos - at, item);
        }
        right
    }
}

impl<T: Clone> Node<T> for Inner<T> {
    fn max_slots() -> usize {
        inner_cap()
    }

    fn slots(&self) -> usize {
        self.keys.len()
    }

    fn first(&self) -> &T {
        &self.keys[0]
    }

    fn total(&self) -> usize {
        self.counts.iter().sum()
    }

    fn split_off(&mut self, at: usize) -> (Self, usize) {
        let keys = split_vec(&mut self.keys, at, inner_limit());
        let counts = split_vec(&mut self.counts, at, inner_limit());
        let kids = match &mut self.kids {
            Kids::Leaves(v) => Kids::Leaves(split_vec(v, at, inner_limit())),
            Kids::Inners(v) => Kids::Inners(split_vec(v, at, inner_limit())),
        };
        let moved = counts.iter().sum();
        (Inner { keys, counts, kids }, moved)
    }

    fn append(&mut self, other: Arc<Self>) {
        let other = Arc::unwrap_or_clone(other);
        let n = other.keys.len();
        grow(&mut self.keys, n, inner_limit());
        grow(&mut self.counts, n, inner_limit());
        self.keys.extend(other.keys);
        self.counts.extend(other.counts);
        match (&mut self.kids, other.kids) {
            (Kids::Leaves(a), Kids::Leaves(b)) => {
                grow(a, n, inner_limit());
                a.extend(b);
            }
            (Kids::Inners(a), Kids::Inners(b)) => {
                grow(a, n, inner_limit());
                a.extend(b);
            }
            _ => unreachable!("siblings at different depths"),
        }
    }

    fn shift_right(left: &mut Self, right: &mut Self, n: usize) -> usize {
        let at = left.counts.len() - n;
        let moved = left.counts[at..].iter().sum();
        move_tail_to_front(&mut left.keys, &mut right.keys, n, inner_limit());
        move_tail_to_front(&mut left.counts, &mut right.counts, n, inner_limit());
        match (&mut left.kids, &mut right.kids) {
            (Kids::Leaves(a), Kids::Leaves(b)) => move_tail_to_front(a, b, n, inner_limit()),
            (Kids::Inners(a), Kids::Inners(b)) => move_tail_to_front(a, b, n, inner_limit()),
            _ => unreachable!("siblings at different depths"),
        }
        moved
    }

    fn shift_left(left: &mut Self, right: &mut Self, n: usize) -> usize {
        let moved = right.counts[..n].iter().sum();
        move_front_to_tail(&mut right.keys, &mut left.keys, n, inner_limit());
        move_front_to_tail(&mut right.counts, &mut left.counts, n, inner_limit());
        match (&mut left.kids, &mut right.kids) {
            (Kids::Leaves(a), Kids::Leaves(b)) => move_front_to_tail(b, a, n, inner_limit()),
            (Kids::Inners(a), Kids::Inners(b)) => move_front_to_tail(b, a, n, inner_limit()),
            _ => unreachable!("siblings at different depths"),
        }
        moved
    }

    fn into_kids(v: Vec<Arc<Self>>) -> Kids<T> {
        Kids::Inners(v)
    }
}

/// Inserts a child at `at` of an inner node given as its three parallel vectors.
fn insert_slot<T, C>(
    keys: &mut Vec<T>,
    counts: &mut Vec<usize>,
    kids: &mut Vec<Arc<C>>,
    at: usize,
    slot: (T, usize, C),
) {
    grow(keys, 1, inner_limit());
    grow(counts, 1, inner_limit());
    grow(kids, 1, inner_limit());
    keys.insert(at, slot.0);
    counts.insert(at, slot.1);
    kids.insert(at, Arc::new(slot.2));
}

/// Removes child `at`; returns its element count and the child.
fn remove_slot<T, C>(
    keys: &mut Vec<T>,
    counts: &mut Vec<usize>,
    kids: &mut Vec<Arc<C>>,
    at: usize,
) -> (usize, Arc<C>) {
    keys.remove(at);
    let n = counts.remove(at);
    let kid = kids.remove(at);
    trim(keys);
    trim(counts);
    trim(kids);
    (n, kid)
}

/// Splits the overfull child `c` in two.
fn split_child<T: Clone, C: Node<T>>(
    counts: &mut [usize],
    kids: &mut [Arc<C>],
    c: usize,
) -> (T, usize, C) {
    let child = node_mut(&mut kids[c]);
    let at = child.slots() / 2;
    let (right, moved) = child.split_off(at);
    counts[c] -= moved;
    (right.first().clone(), moved, right)
}

/// Inserts `item` at `pos` of the full leaf `c`. If a neighbouring leaf has at least
/// `shift_min()` free slots, half of that room is moved over (so sequential and random inserts
/// leave leaves fuller than the half-full halves of a split); otherwise the leaf is split.
fn insert_full_leaf<T: Clone>(
    keys: &mut Vec<T>,
    counts: &mut Vec<usize>,
    v: &mut Vec<Arc<Leaf<T>>>,
    c: usize,
    pos: usize,
    item: T,
) {
    let free = |i: usize| v.get(i).map_or(0, |l| leaf_cap() - l.items.len());
    if c > 0 && free(c - 1) >= shift_min() {
        let k = free(c - 1) / 2;
        let (a, b) = v.split_at_mut(c);
        let left = node_mut(&mut a[c - 1]);
        let leaf = node_mut(&mut b[0]);
        Leaf::shift_left(left, leaf, k);
        counts[c - 1] += k;
        counts[c] -= k;
        if pos < k {
            let at = left.items.len() - k + pos;
            left.insert_at(at, item);
            counts[c - 1] += 1;
        } else {
            leaf.insert_at(pos - k, item);
            counts[c] += 1;
        }
        keys[c] = leaf.items[0].clone();
    } else if free(c + 1) >= shift_min() {
        let k = free(c + 1) / 2;
        let (a, b) = v.split_at_mut(c + 1);
        let leaf = node_mut(&mut a[c]);
        let right = node_mut(&mut b[0]);
        Leaf::shift_right(leaf, right, k);
        counts[c] -= k;
        counts[c + 1] += k;
        let keep = leaf.items.len();
        if pos <= keep {
            leaf.insert_at(pos, item);
            counts[c] += 1;
        } else {
            right.insert_at(pos - keep, item);
            counts[c + 1] += 1;
        }
        keys[c] = leaf.items[0].clone();
        keys[c + 1] = right.items[0].clone();
    } else {
        let leaf = node_mut(&mut v[c]);
        let right = leaf.split_insert(pos, item);
        counts[c] = leaf.items.len();
        keys[c] = leaf.items[0].clone();
        let slot = (right.items[0].clone(), right.items.len(), right);
        insert_slot(keys, counts, v, c + 1, slot);
    }
}

/// Restores the minimum fill of child `c` (which may hold any number of slots from 1 up) by
/// merging it with a sibling or moving slots over from one. Valid siblings are assumed.
fn fix_underflow<T: Clone, C: Node<T>>(
    keys: &mut Vec<T>,
    counts: &mut Vec<usize>,
    kids: &mut Vec<Arc<C>>,
    c: usize,
) {
    if kids.len() < 2 {
        return; // only the root may have a single child; the caller collapses it
    }
    let l = c.saturating_sub(1);
    let r = l + 1;
    let total = kids[l].slots() + kids[r].slots();
    if total <= C::max_slots() {
        let (n, right) = remove_slot(keys, counts, kids, r);
        node_mut(&mut kids[l]).append(right);
        counts[l] += n;
    } else {
        let (a, b) = kids.split_at_mut(r);
        let left = node_mut(&mut a[l]);
        let right = node_mut(&mut b[0]);
        let want = total / 2;
        let have = left.slots();
        if have > want {
            let m = C::shift_right(left, right, have - want);
            counts[l] -= m;
            counts[r] += m;
        } else if have < want {
            let m = C::shift_left(left, right, want - have);
            counts[l] += m;
            counts[r] -= m;
        }
        keys[r] = right.first().clone();
    }
}

/// Number of elements `e` in the subtree with `probe(e) == Less`.
fn rank_in<T, F: Fn(&T) -> Ordering>(mut node: NodeRef<'_, T>, probe: &F) -> usize {
    let mut acc = 0;
    loop {
        match node {
            NodeRef::Leaf(l) => {
                return acc + l.items.partition_point(|e| probe(e) == Ordering::Less)
            }
            NodeRef::Inner(n) => {
                let idx = n.keys.partition_point(|k| probe(k) == Ordering::Less);
                let Some(c) = idx.checked_sub(1) else {
                    return acc;
                };
                acc += n.counts[..c].iter().sum::<usize>();
                match n.kids.get(c) {
                    Some(k) => node = k,
                    None => return acc,
                }
            }
        }
    }
}

/// Whether the subtree holds an element `e` with `probe(e) == Equal`.
fn contains_in<T, F: Fn(&T) -> Ordering>(mut node: NodeRef<'_, T>, probe: &F) -> bool {
    loop {
        match node {
            NodeRef::Leaf(l) => return l.items.binary_search_by(probe).is_ok(),
            NodeRef::Inner(n) => {
                let idx = n.keys.partition_point(|k| probe(k) == Ordering::Less);
                if n.keys.get(idx).is_some_and(|k| probe(k) == Ordering::Equal) {
                    return true;
                }
                let Some(c) = idx.checked_sub(1) else {
                    return false;
                };
                match n.kids.get(c) {
                    Some(k) => node = k,
                    None => return false,
                }
            }
        }
    }
}

/// Appends the elements of a detached subtree to `out`, moving them out of unshared nodes.
fn drain_leaf<T: Clone>(leaf: Arc<Leaf<T>>, out: &mut Vec<T>) {
    match Arc::try_unwrap(leaf) {
        Ok(l) => out.extend(l.items),
        Err(shared) => out.extend_from_slice(&shared.items),
    }
}

fn drain_inner<T: Clone>(node: Arc<Inner<T>>, out: &mut Vec<T>) {
    match Arc::try_unwrap(node) {
        Ok(n) => match n.kids {
            Kids::Leaves(v) => v.into_iter().for_each(|l| drain_leaf(l, out)),
            Kids::Inners(v) => v.into_iter().for_each(|n| drain_inner(n, out)),
        },
        Err(shared) => match &shared.kids {
            Kids::Leaves(v) => v.iter().for_each(|l| out.extend_from_slice(&l.items)),
            Kids::Inners(v) => v.iter().for_each(|n| drain_inner(Arc::clone(n), out)),
        },
    }
}

impl<T: Clone> Inner<T> {
    /// Inserts `item` into this subtree. `None` if an equal element exists (then nothing was
    /// changed), otherwise whether the subtree's first element changed. `checked` means the
    /// caller already knows the item is absent. May leave `self` with `inner_cap() + 1` children.
    fn insert<F: Fn(&T, &T) -> Ordering>(
        &mut self,
        item: T,
        cmp: &F,
        mut checked: bool,
    ) -> Option<bool> {
        let idx = self
            .keys
            .partition_point(|k| cmp(k, &item) == Ordering::Less);
        if self
            .keys
            .get(idx)
            .is_some_and(|k| cmp(k, &item) == Ordering::Equal)
        {
            return None;
        }
        let c = idx.saturating_sub(1);
        let Inner { keys, counts, kids } = self;
        let first_changed = match kids {
            Kids::Leaves(v) => {
                let pos = match v[c].items.binary_search_by(|e| cmp(e, &item)) {
                    Ok(_) => return None,
                    Err(p) => p,
                };
                if v[c].items.len() < leaf_cap() {
                    let leaf = node_mut(&mut v[c]);
                    leaf.insert_at(pos, item);
                    counts[c] += 1;
                    if pos == 0 {
                        keys[c] = leaf.items[0].clone();
                    }
                } else {
                    insert_full_leaf(keys, counts, v, c, pos, item);
                }
                pos == 0
            }
            Kids::Inners(v) => {
                if !checked && Arc::strong_count(&v[c]) > 1 {
                    // Shared path: make sure we will really insert before copying nodes.
                    if contains_in(NodeRef::Inner(&v[c]), &|e: &T| cmp(e, &item)) {
                        return None;
                    }
                    checked = true;
                }
                let child = node_mut(&mut v[c]);
                let fc = child.insert(item, cmp, checked)?;
                counts[c] += 1;
                if fc {
                    keys[c] = child.keys[0].clone();
                }
                if child.keys.len() > inner_cap() {
                    let slot = split_child(counts, v, c);
                    insert_slot(keys, counts, v, c + 1, slot);
                }
                fc
            }
        };
        Some(c == 0 && first_changed)
    }

    /// Removes the element `probe` matches: the element and whether the subtree's first element
    /// changed. May leave `self` below `inner_min()` children.
    fn remove<F: Fn(&T) -> Ordering>(&mut self, probe: &F, mut checked: bool) -> Option<(T, bool)> {
        let idx = self.keys.partition_point(|k| probe(k) == Ordering::Less);
        let c = match self.keys.get(idx) {
            Some(k) if probe(k) == Ordering::Equal => idx,
            _ => idx.checked_sub(1)?,
        };
        let Inner { keys, counts, kids } = self;
        let (item, fc) = match kids {
            Kids::Leaves(v) => {
                let pos = v[c].items.binary_search_by(probe).ok()?;
                let leaf = node_mut(&mut v[c]);
                let item = leaf.items.remove(pos);
                trim(&mut leaf.items);
                counts[c] -= 1;
                if pos == 0 {
                    if let Some(f) = leaf.items.first() {
                        keys[c] = f.clone();
                    }
                }
                if leaf.items.len() < leaf_min() {
                    fix_underflow(keys, counts, v, c);
                }
                (item, pos == 0)
            }
            Kids::Inners(v) => {
                if !checked && Arc::strong_count(&v[c]) > 1 {
                    if !contains_in(NodeRef::Inner(&v[c]), probe) {
                        return None;
                    }
                    checked = true;
                }
                let child = node_mut(&mut v[c]);
                let (item, fc) = child.remove(probe, checked)?;
                counts[c] -= 1;
                if fc {
                    keys[c] = child.keys[0].clone();
                }
                if child.keys.len() < inner_min() {
                    fix_underflow(keys, counts, v, c);
                }
                (item, fc)
            }
        };
        Some((item, c == 0 && fc))
    }

    /// Removes up to `max` consecutive elements starting at `rank` of this subtree, but only
    /// within one child: a whole child subtree if the range covers it, else part of one leaf.
    /// Returns the number removed (at least one when `rank` is in range) and whether the
    /// subtree's first element changed.
    fn remove_chunk(&mut self, rank: usize, max: usize, out: &mut Vec<T>) -> (usize, bool) {
        let (c, off) = self.find_rank(rank);
        if c >= self.counts.len() || max == 0 {
            return (0, false);
        }
        let Inner { keys, counts, kids } = self;
        if off == 0 && counts[c] <= max {
            let n = match kids {
                Kids::Leaves(v) => {
                    let (n, leaf) = remove_slot(keys, counts, v, c);
                    drain_leaf(leaf, out);
                    n
                }
                Kids::Inners(v) => {
                    let (n, node) = remove_slot(keys, counts, v, c);
                    drain_inner(node, out);
                    n
                }
            };
            return (n, c == 0);
        }
        let (n, fc) = match kids {
            Kids::Leaves(v) => {
                let leaf = node_mut(&mut v[c]);
                let n = max.min(leaf.items.len() - off);
                out.extend(leaf.items.drain(off..off + n));
                trim(&mut leaf.items);
                counts[c] -= n;
                if off == 0 {
                    keys[c] = leaf.items[0].clone();
                }
                if leaf.items.len() < leaf_min() {
                    fix_underflow(keys, counts, v, c);
                }
                (n, off == 0)
            }
            Kids::Inners(v) => {
                let child = node_mut(&mut v[c]);
                let (n, fc) = child.remove_chunk(off, max, out);
                counts[c] -= n;
                if fc {
                    keys[c] = child.keys[0].clone();
                }
                if child.keys.len() < inner_min() {
                    fix_underflow(keys, counts, v, c);
                }
                (n, fc)
            }
        };
        (n, c == 0 && fc)
    }

    /// Applies `f` to the element at `rank`, then refreshes the routing keys that clone it.
    fn update<R, F: FnOnce(&mut T) -> R>(&mut self, rank: usize, f: F) -> Option<(R, bool)> {
        let (c, off) = self.find_rank(rank);
        let fc = off == 0;
        match &mut self.kids {
            Kids::Leaves(v) => {
                let leaf = node_mut(v.get_mut(c)?);
                let r = f(leaf.items.get_mut(off)?);
                if fc {
                    self.keys[c] = leaf.items[0].clone();
                }
                Some((r, c == 0 && fc))
            }
            Kids::Inners(v) => {
                let child = node_mut(v.get_mut(c)?);
                let (r, fc) = child.update(off, f)?;
                if fc {
                    self.keys[c] = child.keys[0].clone();
                }
                Some((r, c == 0 && fc))
            }
        }
    }
}

/// Groups `nodes` (at least two) under new parents of at most `inner_cap()` children each,
/// spreading them evenly so every parent has at least `inner_min()` (or is the only one).
fn build_parents<T: Clone, C: Node<T>>(nodes: Vec<C>) -> Vec<Inner<T>> {
    let m = nodes.len();
    let groups = m.div_ceil(inner_cap());
    let (base, extra) = (m / groups, m % groups);
    let mut it = nodes.into_iter();
    let mut out = Vec::with_capacity(groups);
    for g in 0..groups {
        let size = base + usize::from(g < extra);
        let mut keys = Vec::with_capacity(size);
        let mut counts = Vec::with_capacity(size);
        let mut kids = Vec::with_capacity(size);
        for node in it.by_ref().take(size) {
            keys.push(node.first().clone());
            counts.push(node.total());
            kids.push(Arc::new(node));
        }
        out.push(Inner {
            keys,
            counts,
            kids: C::into_kids(kids),
        });
    }
    out
}

/// An order-statistic B+tree: a sorted sequence of `T` with no two equal elements, with
/// O(log n) insert/remove/search, rank and select, and ordered iteration in both directions
/// from any position. Nodes are reference-counted ([`Arc`]) so `clone()` is O(1) and a later
/// mutation copies only the nodes on the modified path. `Send + Sync` when `T` is.
///
/// The tree has no comparator of its own: [`insert_by`](Self::insert_by) takes one, and the
/// searches take a *probe* telling where an element lies relative to the target (`Less` = the
/// element comes before the target). All comparators and probes used on one tree must agree
/// with a single total order; otherwise results are unspecified (but memory-safe).
pub struct CountedBTree<T> {
    root: Option<Root<T>>,
    len: usize,
}

impl<T> Default for CountedBTree<T> {
    fn default() -> Self {
        CountedBTree { root: None, len: 0 }
    }
}

impl<T> Clone for CountedBTree<T> {
    /// O(1): shares every node with `self` until either side modifies it.
    fn clone(&self) -> Self {
        CountedBTree {
            root: self.root.clone(),
            len: self.len,
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for CountedBTree<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T> CountedBTree<T> {
    /// An empty tree (allocates nothing).
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of elements `e` with `probe(e) == Less`: the rank of the first element not
    /// before the target (ZRANK, range starts; ZCOUNT is a difference of two). The probe need
    /// never return `Equal`: `|e| if before(e) { Less } else { Greater }` counts the elements
    /// before any bound.
    pub fn count_before<F: Fn(&T) -> Ordering>(&self, probe: F) -> usize {
        match &self.root {
            None => 0,
            Some(Root::Leaf(l)) => rank_in(NodeRef::Leaf(l), &probe),
            Some(Root::Inner(n)) => rank_in(NodeRef::Inner(n), &probe),
        }
    }

    /// The element at 0-based `rank`.
    pub fn get(&self, rank: usize) -> Option<&T> {
        if rank >= self.len {
            return None;
        }
        let mut node: &Inner<T> = match self.root.as_ref()? {
            Root::Leaf(l) => return l.items.get(rank),
            Root::Inner(n) => n,
        };
        let mut r = rank;
        loop {
            let (c, off) = node.find_rank(r);
            r = off;
            match &node.kids {
                Kids::Leaves(v) => return v.get(c)?.items.get(r),
                Kids::Inners(v) => node = v.get(c)?,
            }
        }
    }

    /// Iterates from `rank` to the end. Empty if `rank >= len()`.
    pub fn iter_from(&self, rank: usize) -> Iter<'_, T> {
        if rank >= self.len {
            return Iter {
                cur: Cursor::empty(),
                remaining: 0,
            };
        }
        Iter {
            cur: self.seek(rank, 0),
            remaining: self.len - rank,
        }
    }

    /// Iterates backwards from `rank`: yields ranks `rank, rank - 1, ..., 0`. Empty if
    /// `rank >= len()`.
    pub fn iter_rev_from(&self, rank: usize) -> RevIter<'_, T> {
        if rank >= self.len {
            return RevIter {
                cur: Cursor::empty(),
                remaining: 0,
            };
        }
        RevIter {
            cur: self.seek(rank, 1),
            remaining: rank + 1,
        }
    }

    /// Iterates over all elements in order.
    pub fn iter(&self) -> Iter<'_, T> {
        self.iter_from(0)
    }

    /// A cursor positioned at `rank` (`pos` = offset in its leaf + `bias`).
    fn seek(&self, rank: usize, bias: usize) -> Cursor<'_, T> {
        let mut cur = Cursor::empty();
        let mut node: &Inner<T> = match &self.root {
            None => return cur,
            Some(Root::Leaf(l)) => {
                cur.leaf = &l.items;
                cur.pos = rank + bias;
                return cur;
            }
            Some(Root::Inner(n)) => n,
        };
        let mut r = rank;
        loop {
            let (c, off) = node.find_rank(r);
            r = off;
            cur.stack.push((node, c));
            match &node.kids {
                Kids::Leaves(v) => {
                    if let Some(l) = v.get(c) {
                        cur.leaf = &l.items;
                        cur.pos = r + bias;
                    }
                    return cur;
                }
                Kids::Inners(v) => match v.get(c) {
                    Some(n) => node = n,
                    None => return cur,
                },
            }
        }
    }

    /// Heap bytes requested for the tree's nodes (headers, element slots including spare
    /// capacity, keys, counts and child pointers), not counting memory the elements own or
    /// allocator rounding. Nodes shared with clones are counted in full.
    pub fn node_bytes(&self) -> usize {
        fn leaf<T>(l: &Leaf<T>) -> usize {
            2 * std::mem::size_of::<usize>()
                + std::mem::size_of::<Leaf<T>>()
                + l.items.capacity() * std::mem::size_of::<T>()
        }
        fn inner<T>(n: &Inner<T>) -> usize {
            let word = std::mem::size_of::<usize>();
            let own = 2 * word
                + std::mem::size_of::<Inner<T>>()
                + n.keys.capacity() * std::mem::size_of::<T>()
                + n.counts.capacity() * word;
            match &n.kids {
                Kids::Leaves(v) => {
                    own + v.capacity() * word + v.iter().map(|l| leaf(l)).sum::<usize>()
                }
                Kids::Inners(v) => {
                    own + v.capacity() * word + v.iter().map(|n| inner(n)).sum::<usize>()
                }
            }
        }
        match &self.root {
            None => 0,
            Some(Root::Leaf(l)) => leaf(l),
            Some(Root::Inner(n)) => inner(n),
        }
    }
}

impl<T: Clone> CountedBTree<T> {
    /// Inserts `item` using `cmp`; returns `false` (and changes nothing) if an equal element
    /// exists.
    pub fn insert_by<F: Fn(&T, &T) -> Ordering>(&mut self, item: T, cmp: F) -> bool {
        let cmp = &cmp;
        let new_root = match &mut self.root {
            None => Some(Root::Leaf(Arc::new(Leaf { items: vec![item] }))),
            Some(Root::Leaf(arc)) => {
                let pos = match arc.items.binary_search_by(|e| cmp(e, &item)) {
                    Ok(_) => return false,
                    Err(p) => p,
                };
                let leaf = node_mut(arc);
                if leaf.items.len() < leaf_cap() {
                    leaf.insert_at(pos, item);
                    None
                } else {
                    let right = leaf.split_insert(pos, item);
                    let left = Arc::clone(arc);
                    Some(Root::Inner(Arc::new(Inner {
                        keys: vec![left.items[0].clone(), right.items[0].clone()],
                        counts: vec![left.items.len(), right.items.len()],
                        kids: Kids::Leaves(vec![left, Arc::new(right)]),
                    })))
                }
            }
            Some(Root::Inner(arc)) => {
                let mut checked = false;
                if Arc::strong_count(arc) > 1 {
                    if contains_in(NodeRef::Inner(arc), &|e: &T| cmp(e, &item)) {
                        return false;
                    }
                    checked = true;
                }
                let node = node_mut(arc);
                if node.insert(item, cmp, checked).is_none() {
                    return false;
                }
                if node.keys.len() > inner_cap() {
                    let at = node.keys.len() / 2;
                    let (right, _) = node.split_off(at);
                    let left = Arc::clone(arc);
                    Some(Root::Inner(Arc::new(Inner {
                        keys: vec![left.keys[0].clone(), right.keys[0].clone()],
                        counts: vec![left.total(), right.total()],
                        kids: Kids::Inners(vec![left, Arc::new(right)]),
                    })))
                } else {
                    None
                }
            }
        };
        if new_root.is_some() {
            self.root = new_root;
        }
        self.len += 1;
        true
    }

    /// Removes and returns the element for which `probe` returns `Equal`. `probe` orders
    /// elements relative to the target (`Less` = the element comes before the target).
    pub fn remove_by<F: Fn(&T) -> Ordering>(&mut self, probe: F) -> Option<T> {
        let probe = &probe;
        let removed = match self.root.as_mut()? {
            Root::Leaf(arc) => {
                let pos = arc.items.binary_search_by(probe).ok()?;
                let leaf = node_mut(arc);
                let item = leaf.items.remove(pos);
                trim(&mut leaf.items);
                item
            }
            Root::Inner(arc) => {
                let mut checked = false;
                if Arc::strong_count(arc) > 1 {
                    if !contains_in(NodeRef::Inner(arc), probe) {
                        return None;
                    }
                    checked = true;
                }
                node_mut(arc).remove(probe, checked)?.0
            }
        };
        self.len -= 1;
        self.fix_root();
        Some(removed)
    }

    /// Removes the elements with ranks in `[start, end)` (clamped to the length) and returns
    /// them in order. Whole subtrees inside the range are detached at once and partly covered
    /// leaves are drained in one step each: O(k + (k / 32 + 1) log n) for k elements.
    pub fn remove_range(&mut self, start: usize, end: usize) -> Vec<T> {
        let end = end.min(self.len);
        if start >= end {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(end - start);
        if start == 0 && end == self.len {
            match self.root.take() {
                None => {}
                Some(Root::Leaf(l)) => drain_leaf(l, &mut out),
                Some(Root::Inner(n)) => drain_inner(n, &mut out),
            }
            self.len = 0;
            return out;
        }
        let mut remaining = end - start;
        while remaining > 0 {
            let n = match &mut self.root {
                None => 0,
                Some(Root::Leaf(arc)) => {
                    let leaf = node_mut(arc);
                    let stop = start.saturating_add(remaining).min(leaf.items.len());
                    out.extend(leaf.items.drain(start..stop));
                    trim(&mut leaf.items);
                    stop - start
                }
                Some(Root::Inner(arc)) => node_mut(arc).remove_chunk(start, remaining, &mut out).0,
            };
            if n == 0 {
                break; // unreachable while the counts are consistent
            }
            remaining -= n;
            self.len -= n;
            self.fix_root();
        }
        out
    }

    /// Mutable access to the element at `rank` (copying shared nodes on its path). The change
    /// must not affect how the element compares under any comparator or probe later used with
    /// this tree (routing keys are clones and would not see it); see [`Self::update_at`].
    pub fn get_mut(&mut self, rank: usize) -> Option<&mut T> {
        if rank >= self.len {
            return None;
        }
        let mut node: &mut Inner<T> = match self.root.as_mut()? {
            Root::Leaf(l) => return node_mut(l).items.get_mut(rank),
            Root::Inner(n) => node_mut(n),
        };
        let mut r = rank;
        loop {
            let (c, off) = node.find_rank(r);
            r = off;
            match &mut node.kids {
                Kids::Leaves(v) => return node_mut(v.get_mut(c)?).items.get_mut(r),
                Kids::Inners(v) => node = node_mut(v.get_mut(c)?),
            }
        }
    }

    /// Applies `f` to the element at `rank` and returns its result (`None` if out of range).
    /// Unlike [`Self::get_mut`], `f` may change how the element compares, provided it stays
    /// strictly between its neighbours: routing keys that clone it are refreshed afterwards.
    pub fn update_at<R, F: FnOnce(&mut T) -> R>(&mut self, rank: usize, f: F) -> Option<R> {
        if rank >= self.len {
            return None;
        }
        match self.root.as_mut()? {
            Root::Leaf(l) => node_mut(l).items.get_mut(rank).map(f),
            Root::Inner(n) => node_mut(n).update(rank, f).map(|(r, _)| r),
        }
    }

    /// Builds a tree from an iterator that yields elements in strictly increasing order, in
    /// O(n). (Unsorted or duplicate input gives a tree whose searches are unspecified.)
    pub fn from_sorted_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut it = items.into_iter();
        let mut leaves: Vec<Leaf<T>> = Vec::new();
        let mut len = 0;
        loop {
            let mut chunk = Vec::with_capacity(bulk_leaf());
            chunk.extend(it.by_ref().take(bulk_leaf()));
            len += chunk.len();
            let done = chunk.len() < bulk_leaf();
            if !chunk.is_empty() {
                trim(&mut chunk);
                leaves.push(Leaf { items: chunk });
            }
            if done {
                break;
            }
        }
        // Only the last leaf can be short; give it enough elements from its predecessor.
        if leaves.len() >= 2 && leaves[leaves.len() - 1].items.len() < leaf_min() {
            if let Some(mut last) = leaves.pop() {
                if let Some(prev) = leaves.last_mut() {
                    let total = prev.items.len() + last.items.len();
                    if total <= leaf_cap() {
                        grow(&mut prev.items, last.items.len(), leaf_cap());
                        prev.items.append(&mut last.items);
                    } else {
                        Leaf::shift_right(prev, &mut last, prev.items.len() - total / 2);
                        leaves.push(last);
                    }
                }
            }
        }
        let root = match leaves.len() {
            0 => None,
            1 => leaves.pop().map(|l| Root::Leaf(Arc::new(l))),
            _ => {
                let mut level = build_parents(leaves);
                while level.len() > 1 {
                    level = build_parents(level);
                }
                level.pop().map(|n| Root::Inner(Arc::new(n)))
            }
        };
        CountedBTree { root, len }
    }

    /// Shrinks the root: drops an empty root leaf and replaces single-child roots.
    fn fix_root(&mut self) {
        loop {
            let replacement = match &self.root {
                Some(Root::Leaf(l)) if l.items.is_empty() => None,
                Some(Root::Inner(n)) if n.keys.len() <= 1 => match &n.kids {
                    Kids::Leaves(v) => v.first().map(|l| Root::Leaf(Arc::clone(l))),
                    Kids::Inners(v) => v.first().map(|n| Root::Inner(Arc::clone(n))),
                },
                _ => return,
            };
            self.root = replacement;
        }
    }
}

impl<'a, T> IntoIterator for &'a CountedBTree<T> {
    type Item = &'a T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// A position in the tree: the path of inner nodes (each with the index of the child being
/// visited), the current leaf, and an offset in it.
struct Cursor<'a, T> {
    stack: Vec<(&'a Inner<T>, usize)>,
    leaf: &'a [T],
    pos: usize,
}

impl<T> Clone for Cursor<'_, T> {
    fn clone(&self) -> Self {
        Cursor {
            stack: self.stack.clone(),
            leaf: self.leaf,
            pos: self.pos,
        }
    }
}

impl<'a, T> Cursor<'a, T> {
    fn empty() -> Self {
        Cursor {
            stack: Vec::new(),
            leaf: &[],
            pos: 0,
        }
    }

    /// Descends from child `i` of `node` to a leaf, always taking the first child
    /// (`last == false`) or the last one, and makes it the current leaf.
    fn descend(&mut self, mut node: &'a Inner<T>, mut i: usize, last: bool) {
        loop {
            match &node.kids {
                Kids::Leaves(v) => {
                    self.leaf = v.get(i).map_or(&[][..], |l| &l.items[..]);
                    self.pos = if last { self.leaf.len() } else { 0 };
                    return;
                }
                Kids::Inners(v) => {
                    let Some(child) = v.get(i) else {
                        self.leaf = &[];
                        return;
                    };
                    i = if last {
                        child.keys.len().saturating_sub(1)
                    } else {
                        0
                    };
                    self.stack.push((child, i));
                    node = child;
                }
            }
        }
    }

    /// Moves to the start of the next leaf (leaves an empty leaf at the end).
    fn next_leaf(&mut self) {
        while let Some((node, idx)) = self.stack.last_mut() {
            if *idx + 1 < node.keys.len() {
                *idx += 1;
                let (node, idx) = (*node, *idx);
                self.descend(node, idx, false);
                return;
            }
            self.stack.pop();
        }
        self.leaf = &[];
        self.pos = 0;
    }

    /// Moves to the end of the previous leaf (leaves an empty leaf at the start).
    fn prev_leaf(&mut self) {
        while let Some((node, idx)) = self.stack.last_mut() {
            if *idx > 0 {
                *idx -= 1;
                let (node, idx) = (*node, *idx);
                self.descend(node, idx, true);
                return;
            }
            self.stack.pop();
        }
        self.leaf = &[];
        self.pos = 0;
    }
}

/// Forward iterator, from [`CountedBTree::iter_from`] / [`CountedBTree::iter`].
pub struct Iter<'a, T> {
    cur: Cursor<'a, T>,
    remaining: usize,
}

impl<T> Clone for Iter<'_, T> {
    fn clone(&self) -> Self {
        Iter {
            cur: self.cur.clone(),
            remaining: self.remaining,
        }
    }
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        if self.remaining == 0 {
            return None;
        }
        if self.cur.pos >= self.cur.leaf.len() {
            self.cur.next_leaf();
        }
        let item = self.cur.leaf.get(self.cur.pos)?;
        self.cur.pos += 1;
        self.remaining -= 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<T> ExactSizeIterator for Iter<'_, T> {}
impl<T> FusedIterator for Iter<'_, T> {}

/// Backward iterator, from [`CountedBTree::iter_rev_from`].
pub struct RevIter<'a, T> {
    /// `cur.pos` is one past the next element to yield.
    cur: Cursor<'a, T>,
    remaining: usize,
}

impl<T> Clone for RevIter<'_, T> {
    fn clone(&self) -> Self {
        RevIter {
            cur: self.cur.clone(),
            remaining: self.remaining,
        }
    }
}

impl<'a, T> Iterator for RevIter<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        if self.remaining == 0 {
            return None;
        }
        if self.cur.pos == 0 {
            self.cur.prev_leaf();
        }
        let pos = self.cur.pos.checked_sub(1)?;
        let item = self.cur.leaf.get(pos)?;
        self.cur.pos = pos;
        self.remaining -= 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<T> ExactSizeIterator for RevIter<'_, T> {}
impl<T> FusedIterator for RevIter<'_, T> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64: a small deterministic generator for the randomized tests.
    struct Rng(u64);

    impl Rng {
        fn new(seed: u64) -> Self {
            Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
        }

        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform in `0..n` (0 when `n == 0`).
        fn below(&mut self, n: usize) -> usize {
            if n == 0 {
                0
            } else {
                (self.next_u64() % n as u64) as usize
            }
        }

        fn percent(&mut self, p: usize) -> bool {
            self.below(100) < p
        }
    }

    /// Node capacities the tests run with: the real ones and small ones that make deep trees
    /// (and every rebalancing path at every level) appear at small sizes.
    const ALL_CAPS: [(usize, usize); 5] = [(64, 64), (4, 4), (5, 7), (8, 5), (16, 8)];

    /// Runs `f` with the given node capacities on this thread.
    fn with_caps<R>(caps: (usize, usize), f: impl FnOnce() -> R) -> R {
        struct Restore((usize, usize));
        impl Drop for Restore {
            fn drop(&mut self) {
                CAPS.with(|c| c.set(self.0));
            }
        }
        let _restore = Restore(CAPS.with(|c| c.replace(caps)));
        f()
    }

    /// Test element: an ordering key and a payload that comparators ignore.
    type E = (u32, u32);

    fn cmp_e(a: &E, b: &E) -> Ordering {
        a.0.cmp(&b.0)
    }

    fn at(k: u32) -> impl Fn(&E) -> Ordering {
        move |e: &E| e.0.cmp(&k)
    }

    fn cmp_u64(a: &u64, b: &u64) -> Ordering {
        a.cmp(b)
    }

    // ----- structural invariant checker -----

    struct Info<'a, T> {
        count: usize,
        height: usize,
        first: &'a T,
        last: &'a T,
    }

    type Cmp<'c, T> = &'c dyn Fn(&T, &T) -> Ordering;

    fn check_slack<X>(v: &Vec<X>, what: &str) {
        if std::mem::size_of::<X>() != 0 {
            let (cap, len) = (v.capacity(), v.len());
            assert!(
                cap - len <= 2 * GROW,
                "{what}: capacity {cap} for {len} slots"
            );
        }
    }

    fn check_leaf<'a, T: fmt::Debug>(
        l: &'a Leaf<T>,
        is_root: bool,
        cmp: Cmp<'_, T>,
    ) -> Info<'a, T> {
        let n = l.items.len();
        assert!(n >= 1, "empty leaf");
        assert!(n <= leaf_cap(), "overfull leaf: {n}");
        assert!(is_root || n >= leaf_min(), "underfull leaf: {n}");
        if std::mem::size_of::<T>() != 0 {
            assert!(
                l.items.capacity() <= leaf_cap(),
                "leaf capacity {}",
                l.items.capacity()
            );
        }
        check_slack(&l.items, "leaf");
        for w in l.items.windows(2) {
            assert_eq!(
                cmp(&w[0], &w[1]),
                Ordering::Less,
                "leaf out of order: {:?}",
                w
            );
        }
        Info {
            count: n,
            height: 0,
            first: &l.items[0],
            last: &l.items[n - 1],
        }
    }

    fn check_inner<'a, T: fmt::Debug>(
        n: &'a Inner<T>,
        is_root: bool,
        cmp: Cmp<'_, T>,
    ) -> Info<'a, T> {
        let k = n.keys.len();
        assert!(k >= 1, "inner node without children");
        assert!(k <= inner_cap(), "overfull inner node: {k}");
        assert!(
            if is_root { k >= 2 } else { k >= inner_min() },
            "underfull inner node: {k} (root: {is_root})"
        );
        assert_eq!(n.counts.len(), k, "counts/keys lengths differ");
        check_slack(&n.keys, "keys");
        check_slack(&n.counts, "counts");
        let infos: Vec<Info<'a, T>> = match &n.kids {
            Kids::Leaves(v) => {
                assert_eq!(v.len(), k, "kids/keys lengths differ");
                check_slack(v, "kids");
                v.iter().map(|l| check_leaf(l, false, cmp)).collect()
            }
            Kids::Inners(v) => {
                assert_eq!(v.len(), k, "kids/keys lengths differ");
                check_slack(v, "kids");
                v.iter().map(|c| check_inner(c, false, cmp)).collect()
            }
        };
        let mut total = 0;
        for (i, info) in infos.iter().enumerate() {
            assert_eq!(n.counts[i], info.count, "stale count");
            assert_eq!(
                cmp(&n.keys[i], info.first),
                Ordering::Equal,
                "routing key {:?} is not the first element {:?}",
                n.keys[i],
                info.first
            );
            assert_eq!(info.height, infos[0].height, "leaves at different depths");
            if i > 0 {
                assert_eq!(
                    cmp(infos[i - 1].last, info.first),
                    Ordering::Less,
                    "children out of order"
                );
            }
            total += info.count;
        }
        Info {
            count: total,
            height: infos[0].height + 1,
            first: infos[0].first,
            last: infos[k - 1].last,
        }
    }

    /// Panics unless the tree satisfies every structural invariant.
    fn check<T: fmt::Debug>(t: &CountedBTree<T>, cmp: Cmp<'_, T>) {
        let count = match &t.root {
            None => 0,
            Some(Root::Leaf(l)) => check_leaf(l, true, cmp).count,
            Some(Root::Inner(n)) => check_inner(n, true, cmp).count,
        };
        assert_eq!(count, t.len, "len does not match the elements");
    }

    fn height<T>(t: &CountedBTree<T>) -> usize {
        let mut node = match &t.root {
            None => return 0,
            Some(Root::Leaf(_)) => return 1,
            Some(Root::Inner(n)) => &**n,
        };
        let mut h = 2;
        while let Kids::Inners(v) = &node.kids {
            node = &v[0];
            h += 1;
        }
        h
    }

    fn same_as_model(t: &CountedBTree<E>, m: &[E]) {
        assert_eq!(t.len(), m.len());
        assert!(t.iter().eq(m.iter()), "tree contents differ from the model");
    }

    // ----- randomized differential testing against a sorted Vec -----

    struct Sim {
        rng: Rng,
        t: CountedBTree<E>,
        m: Vec<E>,
        keyspace: u32,
    }

    impl Sim {
        fn new(seed: u64, keyspace: u32) -> Sim {
            let mut rng = Rng::new(seed);
            let density = rng.below(101);
            let mut m = Vec::new();
            for k in 0..keyspace {
                if rng.percent(density) {
                    m.push((k, rng.next_u64() as u32));
                }
            }
            let t = if rng.percent(50) {
                CountedBTree::from_sorted_iter(m.iter().copied())
            } else {
                let mut shuffled = m.clone();
                for i in (1..shuffled.len()).rev() {
                    shuffled.swap(i, rng.below(i + 1));
                }
                let mut t = CountedBTree::new();
                for e in shuffled {
                    assert!(t.insert_by(e, cmp_e));
                }
                t
            };
            Sim {
                rng,
                t,
                m,
                keyspace,
            }
        }

        fn key(&mut self) -> u32 {
            self.rng.below(self.keyspace as usize + 2) as u32
        }

        fn existing_key(&mut self) -> u32 {
            if self.m.is_empty() || self.rng.percent(30) {
                self.key()
            } else {
                self.m[self.rng.below(self.m.len())].0
            }
        }

        fn rank(&mut self) -> usize {
            self.rng.below(self.m.len() + 3)
        }

        fn insert(&mut self, k: u32) {
            let e = (k, self.rng.next_u64() as u32);
            match self.m.binary_search_by(|x| x.0.cmp(&k)) {
                Ok(_) => assert!(!self.t.insert_by(e, cmp_e), "duplicate accepted"),
                Err(p) => {
                    assert!(self.t.insert_by(e, cmp_e), "insert refused");
                    self.m.insert(p, e);
                }
            }
        }

        fn remove(&mut self, k: u32) {
            let expected = match self.m.binary_search_by(|x| x.0.cmp(&k)) {
                Ok(p) => Some(self.m.remove(p)),
                Err(_) => None,
            };
            assert_eq!(self.t.remove_by(at(k)), expected);
        }

        fn remove_range(&mut self, start: usize, end: usize) {
            let (s, e) = (start.min(self.m.len()), end.min(self.m.len()));
            let expected: Vec<E> = if s < e {
                self.m.drain(s..e).collect()
            } else {
                Vec::new()
            };
            assert_eq!(
                self.t.remove_range(start, end),
                expected,
                "remove_range({start}, {end})"
            );
        }

        /// One random operation; insertions or removals dominate to move the size towards
        /// `target`.
        fn step(&mut self, target: usize) {
            let len = self.m.len();
            let growing = len < target;
            let excess = len.saturating_sub(target);
            match self.rng.below(100) {
                0..=39 => {
                    if self.rng.percent(if growing { 85 } else { 15 }) {
                        for _ in 0..if growing { 1 + self.rng.below(8) } else { 1 } {
                            let k = self.key();
                            self.insert(k);
                        }
                    } else {
                        let k = self.existing_key();
                        self.remove(k);
                    }
                }
                40..=47 => {
                    let k = self.key();
                    let expected = self.m.partition_point(|e| e.0 < k);
                    assert_eq!(self.t.count_before(at(k)), expected);
                    let never_equal = |e: &E| {
                        if e.0 < k {
                            Ordering::Less
                        } else {
                            Ordering::Greater
                        }
                    };
                    assert_eq!(self.t.count_before(never_equal), expected);
                }
                48..=52 => {
                    let r = self.rank();
                    assert_eq!(self.t.get(r), self.m.get(r));
                }
                53..=59 => {
                    let r = self.rank();
                    let n = if self.rng.percent(20) {
                        usize::MAX
                    } else {
                        self.rng.below(150)
                    };
                    let it = self.t.iter_from(r);
                    assert_eq!(it.len(), len.saturating_sub(r));
                    let expected = self.m.get(r..).unwrap_or(&[]);
                    assert!(it.take(n).eq(expected.iter().take(n)), "iter_from({r})");
                }
                60..=66 => {
                    let r = self.rank();
                    let n = if self.rng.percent(20) {
                        usize::MAX
                    } else {
                        self.rng.below(150)
                    };
                    let it = self.t.iter_rev_from(r);
                    let expected: &[E] = if r < len { &self.m[..=r] } else { &[] };
                    assert_eq!(it.len(), expected.len());
                    assert!(
                        it.take(n).eq(expected.iter().rev().take(n)),
                        "iter_rev_from({r})"
                    );
                }
                67..=71 => {
                    let start = self.rank();
                    let span = match self.rng.below(4) {
                        0 => self.rng.below(4),
                        1 if !growing => self.rng.below(100),
                        2 if !growing => self.rng.below(excess + 2),
                        3 if !growing => self.rng.below(leaf_cap() * 5),
                        _ => self.rng.below(3),
                    };
                    self.remove_range(start, start.saturating_add(span));
                }
                72..=76 => {
                    let r = self.rank();
                    let p = self.rng.next_u64() as u32;
                    match self.t.get_mut(r) {
                        Some(e) => {
                            e.1 = p;
                            self.m[r].1 = p;
                        }
                        None => assert!(r >= len, "get_mut({r}) missed"),
                    }
                }
                77..=80 => {
                    // Change the key in place, keeping it strictly between its neighbours.
                    let r = self.rank();
                    if r >= len {
                        assert_eq!(self.t.update_at(r, |_| ()), None);
                        return;
                    }
                    let lo = if r > 0 { self.m[r - 1].0 + 1 } else { 0 };
                    let hi = if r + 1 < len {
                        self.m[r + 1].0 - 1
                    } else {
                        self.keyspace + 1
                    };
                    let nk = lo + self.rng.below((hi - lo) as usize + 1) as u32;
                    let p = self.rng.next_u64() as u32;
                    assert_eq!(self.t.update_at(r, |e| *e = (nk, p)), Some(()));
                    self.m[r] = (nk, p);
                }
                81..=85 => {
                    // Queue patterns: pop from either end.
                    let k = self.rng.below(if growing { 3 } else { 12 });
                    if self.rng.percent(50) {
                        self.remove_range(0, k);
                    } else {
                        self.remove_range(len.saturating_sub(k), len);
                    }
                }
                86..=89 => {
                    // Runs of appends or prepends (sequential keys).
                    let run = self.rng.below(80);
                    if self.rng.percent(50) {
                        let base = self.m.last().map_or(0, |e| e.0 + 1);
                        for k in base..(base + run as u32).min(self.keyspace + 1) {
                            self.insert(k);
                        }
                    } else {
                        let top = self.m.first().map_or(self.keyspace, |e| e.0);
                        for k in (top.saturating_sub(run as u32)..top).rev() {
                            self.insert(k);
                        }
                    }
                }
                90..=93 => {
                    // Deliberate no-ops: duplicate insert, absent removal.
                    if let Some(&e) = self.m.get(self.rng.below(len.max(1))) {
                        assert!(!self.t.insert_by((e.0, e.1 ^ 1), cmp_e));
                    }
                    let k = self.keyspace + 10;
                    assert_eq!(self.t.remove_by(at(k)), None);
                }
                94..=96 => {
                    // Remove a run of existing keys one by one (many merges in one area).
                    let r = self.rank();
                    let n = self.rng.below(if growing { 3 } else { 70 });
                    let keys: Vec<u32> = self.m.iter().skip(r).take(n).map(|e| e.0).collect();
                    for k in keys {
                        self.remove(k);
                    }
                }
                _ => {
                    assert_eq!(self.t.len(), len);
                    assert_eq!(self.t.is_empty(), len == 0);
                    assert_eq!(self.t.get(len), None);
                }
            }
        }
    }

    /// Runs `ops` random operations; checks invariants every `check_every` operations (0: only
    /// at the end) and keeps a few snapshots that must never change.
    /// Returns the largest size reached.
    fn run(seed: u64, keyspace: u32, ops: usize, check_every: usize) -> usize {
        let mut sim = Sim::new(seed, keyspace);
        let mut snaps: Vec<(CountedBTree<E>, Vec<E>)> = Vec::new();
        let (mut target, mut phase_end, mut growing) = (0, 0, false);
        let mut max_len = sim.m.len();
        check(&sim.t, &cmp_e);
        same_as_model(&sim.t, &sim.m);
        for i in 0..ops {
            let len = sim.m.len();
            if i >= phase_end || (growing && len >= target) || (!growing && len <= target) {
                // Sweep the size: towards (nearly) full, empty, or in between.
                target = match sim.rng.below(4) {
                    0 => 0,
                    1 => keyspace as usize * 9 / 10,
                    _ => sim.rng.below(keyspace as usize + 1),
                };
                growing = len < target;
                phase_end = i + ops / 3;
            }
            sim.step(target);
            max_len = max_len.max(sim.m.len());
            if sim.rng.percent(1) {
                match sim.rng.below(4) {
                    0 if snaps.len() < 4 => snaps.push((sim.t.clone(), sim.m.clone())),
                    1 if !snaps.is_empty() => {
                        // Continue on the snapshot; the live tree becomes the snapshot.
                        let j = sim.rng.below(snaps.len());
                        let (t, m) = snaps.swap_remove(j);
                        let old = (
                            std::mem::replace(&mut sim.t, t),
                            std::mem::replace(&mut sim.m, m),
                        );
                        snaps.push(old);
                    }
                    _ => {
                        if !snaps.is_empty() {
                            let j = sim.rng.below(snaps.len());
                            let (t, m) = snaps.swap_remove(j);
                            check(&t, &cmp_e);
                            same_as_model(&t, &m);
                        }
                    }
                }
            }
            if check_every != 0 && i % check_every == 0 {
                check(&sim.t, &cmp_e);
            }
        }
        check(&sim.t, &cmp_e);
        same_as_model(&sim.t, &sim.m);
        for (t, m) in &snaps {
            check(t, &cmp_e);
            same_as_model(t, m);
        }
        max_len
    }

    #[test]
    fn random_ops_small_checked_every_op() {
        let keyspaces = [1, 2, 5, 20, 70, 150, 400, 1000, 2500];
        for (i, caps) in ALL_CAPS.into_iter().enumerate() {
            let base = 1000 * i as u64;
            let seeds = base..base + if i == 0 { 400 } else { 100 };
            with_caps(caps, || {
                for seed in seeds {
                    let keyspace = keyspaces[seed as usize % keyspaces.len()];
                    let max_len = run(seed, keyspace, 3000, 1);
                    // The run must have exercised trees of several levels, not just tiny ones.
                    assert!(
                        max_len * 3 >= keyspace as usize,
                        "seed {seed}: only reached {max_len}"
                    );
                }
            });
        }
    }

    #[test]
    fn random_ops_medium() {
        for (i, caps) in ALL_CAPS.into_iter().enumerate() {
            let base = 200 + 100 * i as u64;
            let seeds = base..base + if i == 0 { 20 } else { 6 };
            with_caps(caps, || {
                for seed in seeds {
                    let keyspace = 4000 + 1500 * (seed as u32 % 6);
                    let max_len = run(seed, keyspace, 20_000, 25);
                    assert!(
                        max_len * 3 >= keyspace as usize,
                        "seed {seed}: only reached {max_len}"
                    );
                }
            });
        }
    }

    #[test]
    fn random_ops_large() {
        let runs = [
            (100, 10_000, 50_000),
            (101, 60_000, 80_000),
            (102, 120_000, 150_000),
        ];
        for (seed, keyspace, ops) in runs {
            let max_len = run(seed, keyspace, ops, 5_000);
            assert!(
                max_len * 3 >= keyspace as usize,
                "seed {seed}: only reached {max_len}"
            );
        }
        with_caps((6, 6), || {
            let max_len = run(103, 100_000, 60_000, 5_000);
            assert!(max_len * 3 >= 100_000, "only reached {max_len}");
        });
    }

    #[test]
    fn from_sorted_iter_every_size() {
        for caps in ALL_CAPS {
            with_caps(caps, || {
                for n in 0..2000u64 {
                    let t = CountedBTree::from_sorted_iter((0..n).map(|i| 2 * i));
                    check(&t, &cmp_u64);
                    assert_eq!(t.len(), n as usize);
                    assert!(t.iter().copied().eq((0..n).map(|i| 2 * i)));
                    for r in [0, n / 3, n / 2, n.saturating_sub(1), n] {
                        assert_eq!(t.get(r as usize).copied(), (r < n).then_some(2 * r));
                        assert_eq!(
                            t.count_before(|e| e.cmp(&(2 * r + 1))),
                            (r + 1).min(n) as usize
                        );
                    }
                    // The result must be a fully working tree.
                    let mut t = t;
                    assert!(t.insert_by(2 * (n / 3) + 1, cmp_u64));
                    assert_eq!(t.remove_by(|e| e.cmp(&0)), (n > 0).then_some(0));
                    check(&t, &cmp_u64);
                }
                // Also from an iterator with no size hint.
                let t = CountedBTree::from_sorted_iter((0..100_000u64).filter(|i| i % 3 != 0));
                check(&t, &cmp_u64);
                assert!(t.iter().copied().eq((0..100_000u64).filter(|i| i % 3 != 0)));
            });
        }
    }

    #[test]
    fn remove_range_all_ranges() {
        for caps in ALL_CAPS {
            with_caps(caps, || {
                let sizes = [0usize, 1, 2, 3, 31, 32, 33, 63, 64, 65, 66, 100, 129];
                for &n in &sizes {
                    for build in 0..2 {
                        let base: Vec<E> = (0..n as u32).map(|k| (k, k)).collect();
                        let make = || {
                            if build == 0 {
                                CountedBTree::from_sorted_iter(base.iter().copied())
                            } else {
                                let mut t = CountedBTree::new();
                                for e in base.iter().rev() {
                                    t.insert_by(*e, cmp_e);
                                }
                                t
                            }
                        };
                        let original = make();
                        for s in 0..=n + 1 {
                            for e in s..=n + 1 {
                                let mut t = original.clone();
                                let got = t.remove_range(s, e);
                                let (cs, ce) = (s.min(n), e.min(n));
                                assert_eq!(got, base[cs..ce]);
                                check(&t, &cmp_e);
                                let mut m = base.clone();
                                m.drain(cs..ce);
                                same_as_model(&t, &m);
                            }
                        }
                        same_as_model(&original, &base);
                    }
                }
                // Reversed or empty arguments remove nothing.
                let mut t = CountedBTree::from_sorted_iter(0..10u64);
                assert!(t.remove_range(5, 3).is_empty());
                assert!(t.remove_range(10, 20).is_empty());
                assert!(t.remove_range(usize::MAX, usize::MAX).is_empty());
                assert_eq!(t.remove_range(8, usize::MAX), vec![8, 9]);
                assert_eq!(t.len(), 8);
            });
        }
    }

    #[test]
    fn remove_range_large_trees() {
        for caps in ALL_CAPS {
            with_caps(caps, || {
                let mut rng = Rng::new(5);
                for shared in [false, true] {
                    let n = 100_000u32;
                    let mut m: Vec<E> = (0..n).map(|k| (k, !k)).collect();
                    let mut t = CountedBTree::from_sorted_iter(m.iter().copied());
                    let snap = shared.then(|| t.clone());
                    while !m.is_empty() {
                        let start = rng.below(m.len());
                        let span = rng.below(m.len() / 3 + 2);
                        let end = (start + span).min(m.len());
                        let expected: Vec<E> = m.drain(start..end).collect();
                        assert_eq!(t.remove_range(start, end), expected);
                        check(&t, &cmp_e);
                        assert_eq!(t.len(), m.len());
                    }
                    same_as_model(&t, &m);
                    if let Some(s) = snap {
                        check(&s, &cmp_e);
                        assert!(s.iter().copied().eq((0..n).map(|k| (k, !k))));
                    }
                }
            });
        }
    }

    #[test]
    fn iterators_from_every_rank() {
        for caps in ALL_CAPS {
            with_caps(caps, || {
                let mut rng = Rng::new(9);
                let mut t = CountedBTree::new();
                while t.len() < 3000 {
                    t.insert_by(rng.below(1_000_000) as u64, cmp_u64);
                }
                let m: Vec<u64> = t.iter().copied().collect();
                assert!(m.windows(2).all(|w| w[0] < w[1]));
                for r in 0..=m.len() + 1 {
                    let fwd = t.iter_from(r);
                    assert_eq!(fwd.len(), m.len().saturating_sub(r));
                    assert!(fwd.copied().eq(m.iter().skip(r).copied()), "iter_from({r})");
                    let rev = t.iter_rev_from(r);
                    let expected: &[u64] = if r < m.len() { &m[..=r] } else { &[] };
                    assert!(
                        rev.copied().eq(expected.iter().rev().copied()),
                        "iter_rev_from({r})"
                    );
                    assert_eq!(t.get(r), m.get(r));
                }
                let mut it = t.iter_from(2990);
                assert_eq!(it.by_ref().count(), 10);
                assert_eq!(it.next(), None);
                assert_eq!((&t).into_iter().count(), 3000);
                let empty: CountedBTree<u64> = CountedBTree::new();
                assert_eq!(empty.iter().next(), None);
                assert_eq!(empty.iter_rev_from(0).next(), None);
                assert_eq!(empty.get(0), None);
                assert_eq!(empty.count_before(|_| Ordering::Less), 0);
            });
        }
    }

    #[test]
    fn snapshots_are_isolated_both_ways() {
        for caps in ALL_CAPS {
            with_caps(caps, || {
                let mut sim = Sim::new(11, 40_000);
                let frozen = (sim.t.clone(), sim.m.clone());
                for i in 0..30_000 {
                    sim.step(if i < 15_000 { 40_000 } else { 0 });
                }
                check(&frozen.0, &cmp_e);
                same_as_model(&frozen.0, &frozen.1);
                check(&sim.t, &cmp_e);
                same_as_model(&sim.t, &sim.m);

                // Now mutate the old snapshot and check the live tree (and a second clone) hold still.
                let live = (sim.t.clone(), sim.m.clone());
                sim.t = frozen.0;
                sim.m = frozen.1;
                for i in 0..30_000 {
                    sim.step(if i < 15_000 { 0 } else { 40_000 });
                }
                check(&live.0, &cmp_e);
                same_as_model(&live.0, &live.1);
                check(&sim.t, &cmp_e);
                same_as_model(&sim.t, &sim.m);
            });
        }
    }

    /// Addresses of all nodes, to see what two trees share.
    fn node_addrs<T>(t: &CountedBTree<T>) -> Vec<usize> {
        fn inner<T>(n: &Inner<T>, out: &mut Vec<usize>) {
            out.push(n as *const Inner<T> as usize);
            match &n.kids {
                Kids::Leaves(v) => out.extend(v.iter().map(|l| Arc::as_ptr(l) as usize)),
                Kids::Inners(v) => v.iter().for_each(|c| inner(c, out)),
            }
        }
        let mut out = Vec::new();
        match &t.root {
            None => {}
            Some(Root::Leaf(l)) => out.push(Arc::as_ptr(l) as usize),
            Some(Root::Inner(n)) => inner(n, &mut out),
        }
        out
    }

    fn unshared<T>(a: &CountedBTree<T>, b: &CountedBTree<T>) -> usize {
        let b: std::collections::HashSet<usize> = node_addrs(b).into_iter().collect();
        node_addrs(a).into_iter().filter(|p| !b.contains(p)).count()
    }

    #[test]
    fn clone_is_shared_and_writes_copy_only_the_path() {
        for caps in ALL_CAPS {
            with_caps(caps, || {
                let base = CountedBTree::from_sorted_iter((0..200_000u64).map(|i| 2 * i));
                let h = height(&base);
                let mut t = base.clone();
                assert_eq!(unshared(&t, &base), 0);
                // Failed inserts and removals copy nothing.
                assert!(!t.insert_by(1000, cmp_u64));
                assert_eq!(t.remove_by(|e| e.cmp(&1001)), None);
                assert_eq!(unshared(&t, &base), 0);
                // One insert copies one root-to-leaf path, plus at most one new or
                // rebalanced sibling per level.
                assert!(t.insert_by(1001, cmp_u64));
                let copied = unshared(&t, &base);
                assert!(copied <= 2 * h + 1, "{copied} nodes copied, height {h}");
                let mut u = base.clone();
                assert_eq!(u.remove_by(|e| e.cmp(&5000)), Some(5000));
                let copied = unshared(&u, &base);
                assert!(copied <= 2 * h, "{copied} nodes copied, height {h}");
                *u.get_mut(77_777).unwrap() += 0;
                assert!(unshared(&u, &base) <= copied + h);
                // Removing a large range does not copy the removed subtrees.
                let mut w = base.clone();
                assert_eq!(w.remove_range(10_000, 150_000).len(), 140_000);
                assert!(
                    unshared(&w, &base) <= 4 * h + 4,
                    "{} nodes copied",
                    unshared(&w, &base)
                );
                check(&w, &cmp_u64);
                check(&base, &cmp_u64);
                assert_eq!(base.len(), 200_000);
            });
        }
    }

    #[test]
    fn failed_writes_below_a_copied_root_copy_nothing() {
        for caps in ALL_CAPS {
            with_caps(caps, || {
                let base = CountedBTree::from_sorted_iter((0..300_000u64).map(|i| 2 * i));
                assert!(height(&base) >= 4);
                let mut t = base.clone();
                assert!(t.insert_by(1, cmp_u64)); // copies the leftmost path, root included
                let copied = unshared(&t, &base);
                // The root is now unique but the rest of the tree is still shared.
                assert!(!t.insert_by(400_000, cmp_u64));
                assert_eq!(t.remove_by(|e| e.cmp(&400_001)), None);
                assert_eq!(t.remove_by(|e| e.cmp(&599_999)), None);
                assert_eq!(unshared(&t, &base), copied);
                assert_eq!(t.remove_by(|e| e.cmp(&400_000)), Some(400_000));
                check(&t, &cmp_u64);
                check(&base, &cmp_u64);
                assert_eq!(base.len(), 300_000);
            });
        }
    }

    /// Ranks at which some node's subtree starts (each leaf, and so each inner node), and `len`.
    fn leaf_starts<T>(t: &CountedBTree<T>) -> Vec<usize> {
        fn walk<T>(n: &Inner<T>, out: &mut Vec<usize>) {
            match &n.kids {
                Kids::Leaves(v) => out.extend(v.iter().map(|l| l.items.len())),
                Kids::Inners(v) => v.iter().for_each(|c| walk(c, out)),
            }
        }
        let mut sizes = Vec::new();
        match &t.root {
            None => {}
            Some(Root::Leaf(l)) => sizes.push(l.items.len()),
            Some(Root::Inner(n)) => walk(n, &mut sizes),
        }
        let mut rank = 0;
        let mut out = vec![0];
        for size in sizes {
            rank += size;
            out.push(rank);
        }
        out
    }

    #[test]
    fn remove_range_on_node_boundaries() {
        for (caps, n) in [((64, 64), 300_000u64), ((4, 4), 20_000), ((7, 5), 20_000)] {
            with_caps(caps, || remove_range_on_node_boundaries_with(n));
        }
    }

    fn remove_range_on_node_boundaries_with(n: u64) {
        // Ranges that start and end exactly where leaves (and inner nodes) start or end
        // exercise the removal of whole subtrees at every level.
        let base = CountedBTree::from_sorted_iter(0..n);
        assert!(height(&base) >= 4);
        let starts = leaf_starts(&base);
        assert!(starts
            .windows(2)
            .all(|w| w[0] < w[1] && w[1] - w[0] <= leaf_cap()));
        let mut rng = Rng::new(77);
        for i in 0..300 {
            let a = rng.below(starts.len());
            let b = match i % 3 {
                0 => a + rng.below(3),
                1 => a + rng.below(100),
                _ => rng.below(starts.len()),
            }
            .min(starts.len() - 1);
            let (mut s, mut e) = (starts[a.min(b)], starts[a.max(b)]);
            if i % 4 == 1 {
                s = s.saturating_sub(1);
            }
            if i % 5 == 2 {
                e += 1;
            }
            let mut t = base.clone();
            let removed = t.remove_range(s, e);
            let e = e.min(n as usize);
            assert!(
                removed.iter().copied().eq(s as u64..e as u64),
                "remove_range({s}, {e})"
            );
            check(&t, &cmp_u64);
            assert!(t.iter().copied().eq((0..s as u64).chain(e as u64..n)));
        }
    }

    #[test]
    fn routing_keys_never_keep_removed_elements() {
        for caps in ALL_CAPS {
            with_caps(caps, || {
                // With Arc elements, a removed element must come back as the only reference.
                let mut rng = Rng::new(3);
                let cmp = |a: &Arc<u64>, b: &Arc<u64>| a.cmp(b);
                let mut t = CountedBTree::from_sorted_iter((0..5000u64).map(Arc::new));
                for i in 0..20_000 {
                    let k = rng.below(6000) as u64;
                    if rng.percent(50) {
                        t.insert_by(Arc::new(k), cmp);
                    } else if let Some(e) = t.remove_by(|e| (**e).cmp(&k)) {
                        assert_eq!(Arc::strong_count(&e), 1, "a routing key still holds {e}");
                    }
                    if i % 500 == 0 {
                        let r = rng.below(t.len());
                        for e in t.remove_range(r, r + rng.below(300)) {
                            assert_eq!(Arc::strong_count(&e), 1, "a routing key still holds {e}");
                        }
                        check(&t, &cmp);
                    }
                }
                for e in t.remove_range(0, usize::MAX) {
                    assert_eq!(Arc::strong_count(&e), 1);
                }
                assert!(t.is_empty());
            });
        }
    }

    #[test]
    fn fill_stays_above_half_after_deletes() {
        let mut rng = Rng::new(21);
        let mut t = CountedBTree::new();
        for _ in 0..200_000 {
            t.insert_by(rng.next_u64(), cmp_u64);
        }
        let all: Vec<u64> = t.iter().copied().collect();
        for (i, k) in all.iter().enumerate() {
            if i % 5 != 0 {
                assert_eq!(t.remove_by(|e| e.cmp(k)), Some(*k));
            }
        }
        check(&t, &cmp_u64); // every non-root leaf holds >= leaf_min() elements
        let per_elem = t.node_bytes() as f64 / t.len() as f64;
        assert!(per_elem < 8.0 * 2.0 + 4.0, "{per_elem} bytes per element");
    }

    #[test]
    fn sequential_patterns() {
        for caps in ALL_CAPS {
            with_caps(caps, || {
                // Ascending and descending inserts, then a FIFO queue (append + pop front).
                let mut t = CountedBTree::new();
                for k in 0..20_000u64 {
                    assert!(t.insert_by(k, cmp_u64));
                }
                check(&t, &cmp_u64);
                for k in (20_000..40_000u64).rev() {
                    assert!(t.insert_by(k, cmp_u64));
                }
                check(&t, &cmp_u64);
                assert!(t.iter().copied().eq(0..40_000));
                let mut next = 40_000u64;
                let mut head = 0u64;
                for round in 0..2000 {
                    for _ in 0..7 {
                        assert!(t.insert_by(next, cmp_u64));
                        next += 1;
                    }
                    let popped = t.remove_range(0, 9);
                    assert!(popped.iter().copied().eq(head..head + 9));
                    head += 9;
                    if round % 100 == 0 {
                        check(&t, &cmp_u64);
                    }
                }
                assert!(t.iter().copied().eq(head..next));
            });
        }
    }

    #[test]
    fn zero_sized_and_unit_elements() {
        let mut t: CountedBTree<()> = CountedBTree::new();
        assert!(t.insert_by((), |_, _| Ordering::Equal));
        assert!(!t.insert_by((), |_, _| Ordering::Equal));
        assert_eq!(t.len(), 1);
        assert_eq!(t.remove_by(|_| Ordering::Equal), Some(()));
        assert!(t.is_empty());
        assert_eq!(t.node_bytes(), 0);
    }

    #[test]
    fn is_send_and_sync() {
        fn assert_send_sync<X: Send + Sync>() {}
        assert_send_sync::<CountedBTree<u64>>();
        assert_send_sync::<Iter<'static, u64>>();
        assert_send_sync::<RevIter<'static, u64>>();
        let t = CountedBTree::from_sorted_iter(0..100_000u64);
        let snap = t.clone();
        let sum = std::thread::spawn(move || snap.iter().sum::<u64>())
            .join()
            .unwrap();
        assert_eq!(sum, t.iter().sum::<u64>());
    }

    #[test]
    #[should_panic(expected = "stale count")]
    fn checker_detects_a_wrong_count() {
        let mut t = CountedBTree::from_sorted_iter(0..5000u64);
        if let Some(Root::Inner(n)) = &mut t.root {
            node_mut(n).counts[1] += 1;
        }
        check(&t, &cmp_u64);
    }

    #[test]
    #[should_panic(expected = "routing key")]
    fn checker_detects_a_stale_routing_key() {
        let mut t = CountedBTree::from_sorted_iter(0..5000u64);
        if let Some(Root::Inner(n)) = &mut t.root {
            node_mut(n).keys[1] += 1;
        }
        check(&t, &cmp_u64);
    }

    #[test]
    #[should_panic(expected = "underfull leaf")]
    fn checker_detects_an_underfull_leaf() {
        let mut t = CountedBTree::from_sorted_iter(0..5000u64);
        let mut node = match &mut t.root {
            Some(Root::Inner(n)) => node_mut(n),
            _ => unreachable!(),
        };
        loop {
            match &mut node.kids {
                Kids::Leaves(v) => {
                    let leaf = node_mut(&mut v[1]);
                    let keep = leaf.items.len() - leaf_min();
                    leaf.items.truncate(keep.max(1));
                    node.counts[1] = keep.max(1);
                    break;
                }
                Kids::Inners(v) => node = node_mut(&mut v[0]),
            }
        }
        check(&t, &cmp_u64);
    }

    /// Micro benchmark: `cargo test --release -- --ignored --nocapture bench_1m`.
    #[test]
    #[ignore]
    fn bench_1m() {
        use std::hint::black_box;
        use std::time::Instant;
        const N: usize = 1_000_000;
        let mut rng = Rng::new(1);
        let keys: Vec<u64> = (0..N).map(|_| rng.next_u64()).collect();
        let mut probes = keys.clone();
        for i in (1..N).rev() {
            probes.swap(i, rng.below(i + 1));
        }
        let report = |what: &str, start: Instant, n: usize| {
            let ns = start.elapsed().as_nanos() as f64 / n as f64;
            println!("{what:<44} {ns:>8.1} ns/op");
        };

        let mut t = CountedBTree::new();
        let s = Instant::now();
        for &k in &keys {
            t.insert_by(k, cmp_u64);
        }
        report("insert (random order)", s, N);
        println!(
            "{:<44} {:>8.2} bytes/elem (height {})",
            "memory after random inserts",
            t.node_bytes() as f64 / t.len() as f64,
            height(&t)
        );

        let s = Instant::now();
        let mut acc = 0usize;
        for &k in &probes {
            acc = acc.wrapping_add(t.count_before(|e| e.cmp(&k)));
        }
        report("count_before / rank (random)", s, N);
        let s = Instant::now();
        for &p in &probes {
            acc = acc.wrapping_add(*t.get(p as usize % N).unwrap() as usize);
        }
        report("get(rank) (random)", s, N);
        let s = Instant::now();
        for e in t.iter() {
            acc = acc.wrapping_add(*e as usize);
        }
        report("iter (per element)", s, N);
        let s = Instant::now();
        for &p in &probes[..100_000] {
            let r = p as usize % (N - 10);
            acc = acc.wrapping_add(t.iter_from(r).take(10).count());
        }
        report("iter_from(rank).take(10) (per call)", s, 100_000);
        let snap = t.clone();
        let s = Instant::now();
        for &k in probes.iter().take(100_000) {
            t.remove_by(|e| e.cmp(&k));
        }
        report("remove (first 100k after a snapshot)", s, 100_000);
        drop(snap);
        let s = Instant::now();
        for &k in &probes[100_000..] {
            t.remove_by(|e| e.cmp(&k));
        }
        report("remove (random order, rest)", s, N - 100_000);
        assert!(t.is_empty());
        black_box(acc);

        let s = Instant::now();
        let mut t = CountedBTree::new();
        for k in 0..N as u64 {
            t.insert_by(k, cmp_u64);
        }
        report("insert (ascending)", s, N);
        println!(
            "{:<44} {:>8.2} bytes/elem",
            "memory after ascending inserts",
            t.node_bytes() as f64 / t.len() as f64
        );
        let s = Instant::now();
        let mut popped = 0;
        while !t.is_empty() {
            popped += t.remove_range(0, 1).len();
        }
        report("remove_range(0, 1) (ZPOPMIN)", s, popped);

        let s = Instant::now();
        let t = CountedBTree::from_sorted_iter(0..N as u64);
        report("from_sorted_iter (per element)", s, N);
        println!(
            "{:<44} {:>8.2} bytes/elem",
            "memory after from_sorted_iter",
            t.node_bytes() as f64 / t.len() as f64
        );
        let mut t2 = t.clone();
        let s = Instant::now();
        let removed = t2.remove_range(100_000, 900_000).len();
        report("remove_range 800k of 1M (per element)", s, removed);

        let mut set = std::collections::BTreeSet::new();
        let s = Instant::now();
        for &k in &keys {
            set.insert(k);
        }
        report("[std BTreeSet] insert (random order)", s, N);
        let s = Instant::now();
        for k in &probes {
            set.remove(k);
        }
        report("[std BTreeSet] remove (random order)", s, N);
    }
}
