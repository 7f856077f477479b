//! The client touching memory: in-bounds writes and reads of what it holds.

use arbitrary::{Result, Unstructured};

use super::super::super::ast::Op;
use super::super::choose::{byte, chance, pick};
use super::super::state::Gen;
use super::{offset, Action, Cand};

impl Gen<'_> {
    /// Performs one of this family's well-behaved operations.
    pub(super) fn act_access(&mut self, u: &mut Unstructured<'_>, a: Action) -> Result<()> {
        match a {
            Action::Write | Action::Read => {
                if let Some(i) = self.pick(u, Cand::Access)? {
                    let size = self.addr_size(i).unwrap_or(0);
                    let (off, len) = in_bounds(u, size)?;
                    let addr = self.at(i, offset(off));
                    let op = match a {
                        Action::Write => Op::Write {
                            addr,
                            len,
                            byte: byte(u)?,
                        },
                        _ => Op::Read { addr, len },
                    };
                    self.emit(None, op);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// An in-bounds range of an object of `size` bytes: (offset, length), length at least 1;
/// now and then the last bytes, up to the last one.
pub fn in_bounds(u: &mut Unstructured<'_>, size: u64) -> Result<(u64, u64)> {
    if size > 0 && chance(u, 12)? {
        let len = pick(u, 1, size.min(8))?;
        return Ok((size - len, len));
    }
    let off = match chance(u, 50)? {
        true => pick(u, 0, size.saturating_sub(1))?,
        false => 0,
    };
    let room = size.saturating_sub(off).max(1);
    let len = match pick(u, 0, 7)? {
        0..=4 => pick(u, 1, room.min(64))?,
        5..=6 => pick(u, 1, room.min(4096))?,
        _ => room.min(64 << 10),
    };
    Ok((off, len))
}
