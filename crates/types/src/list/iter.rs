//! Iteration over a list's elements, both ways, reading each node's bytes in place (a
//! compressed node's from the list's cache of decompressed nodes).

use super::pack::{self, Elem};
use super::List;

/// A position inside one node, with the node's bytes at hand.
#[derive(Clone, Copy, Default)]
pub(super) struct Cursor<'a> {
    node: usize,
    data: &'a [u8],
    plain: bool,
    /// Byte offset: of the next entry (front cursor), or where the next entry ends (back).
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn at(list: &'a List, node: usize, pos: usize) -> Self {
        let v = list.view(node);
        Cursor {
            node,
            data: v.data,
            plain: v.plain,
            pos,
        }
    }

    /// At the end of node `node`.
    pub(super) fn at_end(list: &'a List, node: usize) -> Self {
        let v = list.view(node);
        Cursor {
            node,
            data: v.data,
            plain: v.plain,
            pos: v.data.len(),
        }
    }
}

/// An iterator over a list's elements, double-ended.
pub struct Iter<'a> {
    pub(super) list: &'a List,
    pub(super) front: Cursor<'a>,
    pub(super) back: Cursor<'a>,
    /// Elements not yet returned from either side.
    pub(super) left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Elem<'a>;

    #[inline]
    fn next(&mut self) -> Option<Elem<'a>> {
        if self.left == 0 {
            return None;
        }
        loop {
            let c = &mut self.front;
            if c.pos < c.data.len() {
                let (e, next) = if c.plain {
                    (Elem::Str(c.data), c.data.len())
                } else {
                    pack::read(c.data, c.pos)
                };
                c.pos = next;
                self.left -= 1;
                return Some(e);
            }
            self.front = Cursor::at(self.list, c.node + 1, 0);
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<'a> DoubleEndedIterator for Iter<'a> {
    fn next_back(&mut self) -> Option<Elem<'a>> {
        if self.left == 0 {
            return None;
        }
        loop {
            let c = &mut self.back;
            if c.pos > 0 {
                let start = if c.plain {
                    0
                } else {
                    pack::prev(c.data, c.pos)
                };
                let (e, _) = if c.plain {
                    (Elem::Str(c.data), 0)
                } else {
                    pack::read(c.data, start)
                };
                c.pos = start;
                self.left -= 1;
                return Some(e);
            }
            self.back = Cursor::at_end(self.list, c.node - 1);
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}
