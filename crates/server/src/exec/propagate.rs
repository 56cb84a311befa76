//! What commands propagate, grouped in execution units (Redis's `also_propagate`): a top-level
//! command, an EXEC, a blocked command served later, an eviction or an expiry. A unit of more
//! than one command reaches replicas wrapped in MULTI/EXEC. The event loop writes finished
//! units to the replication stream ([`crate::repl::feed`] adds SELECT as needed).

use bytes::Bytes;

/// Where a propagated command goes: normally both; a script chooses with `server.set_repl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Targets {
    pub aof: bool,
    pub replicas: bool,
}

impl Targets {
    pub const ALL: Targets = Targets {
        aof: true,
        replicas: true,
    };
}

/// One command to propagate, in its database, and where to.
pub type Propagated = (usize, Vec<Bytes>, Targets);

/// The propagation state of the executor.
#[derive(Default)]
pub struct Propagator {
    /// Nesting of command execution (EXEC runs its commands inside the EXEC).
    depth: usize,
    /// Commands of the unit being executed.
    current: Vec<Propagated>,
    /// Finished units not yet written to the stream.
    ready: Vec<Vec<Propagated>>,
    /// The current unit is not a transaction: its commands go out one by one (a top-level
    /// command that touches arbitrary keys, like RANDOMKEY or SCAN, lazily expiring keys
    /// that have nothing to do with each other).
    separate: bool,
}

impl Propagator {
    /// A command starts executing (possibly inside another one).
    pub fn enter(&mut self) {
        self.depth += 1;
    }

    /// A command finished; when it was the outermost one, its unit is complete.
    pub fn leave(&mut self) {
        assert!(self.depth > 0, "Propagator::leave without enter");
        self.depth -= 1;
        if self.depth == 0 {
            self.end_unit();
        }
    }

    /// Nesting depth (1 while a top-level command runs).
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Adds a command to the current unit, for the AOF and the replicas.
    pub fn push(&mut self, db: usize, cmd: Vec<Bytes>) {
        self.current.push((db, cmd, Targets::ALL));
    }

    /// Adds a command to the current unit for some targets only.
    pub fn push_to(&mut self, db: usize, cmd: Vec<Bytes>, to: Targets) {
        self.current.push((db, cmd, to));
    }

    /// The unit being executed is not a transaction (Redis's `CMD_TOUCHES_ARBITRARY_KEYS`).
    pub fn separate_current(&mut self) {
        self.separate = true;
    }

    /// Closes the current unit unless a command is still executing (work done outside any
    /// command, such as an eviction or an active expiry, forms its own unit).
    pub fn end_unit(&mut self) {
        if self.depth != 0 {
            return;
        }
        if std::mem::take(&mut self.separate) {
            self.ready.extend(
                std::mem::take(&mut self.current)
                    .into_iter()
                    .map(|c| vec![c]),
            );
        } else if !self.current.is_empty() {
            self.ready.push(std::mem::take(&mut self.current));
        }
    }

    /// The finished units, oldest first.
    pub fn take_ready(&mut self) -> Vec<Vec<Propagated>> {
        std::mem::take(&mut self.ready)
    }

    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(s: &str) -> Vec<Bytes> {
        vec![Bytes::copy_from_slice(s.as_bytes())]
    }

    #[test]
    fn nested_commands_form_one_unit_and_outside_work_its_own() {
        let mut p = Propagator::default();
        p.enter();
        p.push(0, cmd("a"));
        p.enter();
        p.push(1, cmd("b"));
        p.leave();
        p.end_unit(); // inside a command: no effect
        assert!(!p.has_ready());
        p.leave();
        p.push(0, cmd("del"));
        p.end_unit();
        let units = p.take_ready();
        assert_eq!(units.len(), 2);
        assert_eq!(units[0].len(), 2);
        assert_eq!(units[1], vec![(0, cmd("del"), Targets::ALL)]);
    }

    #[test]
    fn a_separate_unit_goes_out_command_by_command() {
        let mut p = Propagator::default();
        p.enter();
        p.separate_current();
        p.push(0, cmd("del a"));
        p.push(0, cmd("del b"));
        p.leave();
        assert_eq!(p.take_ready().len(), 2);
        p.enter();
        p.push(0, cmd("x"));
        p.push(0, cmd("y"));
        p.leave();
        assert_eq!(p.take_ready().len(), 1, "the flag lasts one unit");
    }
}
