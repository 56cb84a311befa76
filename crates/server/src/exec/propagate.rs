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
///
/// Commands are kept in one vector, the finished units first, then the unit being executed;
/// `ends` marks where each finished unit ends. [`Propagator::take_ready`] hands the finished
/// units out and [`Propagator::recycle`] takes the emptied vectors back, so propagating a
/// command allocates nothing beyond the command itself.
#[derive(Default)]
pub struct Propagator {
    /// Nesting of command execution (EXEC runs its commands inside the EXEC).
    depth: usize,
    /// Finished units' commands, then the current unit's.
    cmds: Vec<Propagated>,
    /// End (exclusive index in `cmds`) of each finished unit, ascending.
    ends: Vec<usize>,
    /// The current unit is not a transaction: its commands go out one by one (a top-level
    /// command that touches arbitrary keys, like RANDOMKEY or SCAN, lazily expiring keys
    /// that have nothing to do with each other).
    separate: bool,
}

/// Finished units, taken out of the [`Propagator`] to be written.
#[derive(Default)]
pub struct Ready {
    cmds: Vec<Propagated>,
    ends: Vec<usize>,
}

impl Ready {
    /// The units in order, each one command or several (a transaction).
    pub fn units(&self) -> impl Iterator<Item = &[Propagated]> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(a, &b)| &self.cmds[a..b])
    }

    /// How many units.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
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
        self.cmds.push((db, cmd, Targets::ALL));
    }

    /// Adds a command to the current unit for some targets only.
    pub fn push_to(&mut self, db: usize, cmd: Vec<Bytes>, to: Targets) {
        self.cmds.push((db, cmd, to));
    }

    /// The unit being executed is not a transaction (Redis's `CMD_TOUCHES_ARBITRARY_KEYS`).
    pub fn separate_current(&mut self) {
        self.separate = true;
    }

    /// Where the current unit starts in `cmds`.
    fn current_start(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// Closes the current unit unless a command is still executing (work done outside any
    /// command, such as an eviction or an active expiry, forms its own unit).
    pub fn end_unit(&mut self) {
        if self.depth != 0 {
            return;
        }
        let (start, end) = (self.current_start(), self.cmds.len());
        if std::mem::take(&mut self.separate) {
            self.ends.extend(start + 1..=end);
        } else if end > start {
            self.ends.push(end);
        }
    }

    /// The finished units; the current unit's commands stay.
    pub fn take_ready(&mut self) -> Ready {
        let done = self.current_start();
        let mut cmds = std::mem::take(&mut self.cmds);
        if done < cmds.len() {
            self.cmds = cmds.split_off(done);
        }
        Ready {
            cmds,
            ends: std::mem::take(&mut self.ends),
        }
    }

    /// Takes back the vectors of written units to reuse their room.
    pub fn recycle(&mut self, mut ready: Ready) {
        if self.cmds.is_empty() && self.ends.is_empty() {
            ready.cmds.clear();
            ready.ends.clear();
            self.cmds = ready.cmds;
            self.ends = ready.ends;
        }
    }

    pub fn has_ready(&self) -> bool {
        !self.ends.is_empty()
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
        let ready = p.take_ready();
        let units: Vec<&[Propagated]> = ready.units().collect();
        assert_eq!(units.len(), 2);
        assert_eq!(units[0].len(), 2);
        assert_eq!(units[1], &[(0, cmd("del"), Targets::ALL)][..]);
        p.recycle(ready);
        assert!(!p.has_ready());
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

    #[test]
    fn the_unit_still_executing_stays_when_the_finished_ones_are_taken() {
        let mut p = Propagator::default();
        p.push(0, cmd("expired"));
        p.end_unit();
        p.enter();
        p.push(0, cmd("x"));
        let ready = p.take_ready();
        assert_eq!(ready.len(), 1);
        p.recycle(ready);
        p.push(0, cmd("y"));
        p.leave();
        let ready = p.take_ready();
        let units: Vec<&[Propagated]> = ready.units().collect();
        assert_eq!(
            units,
            [&[(0, cmd("x"), Targets::ALL), (0, cmd("y"), Targets::ALL)][..]]
        );
    }
}
