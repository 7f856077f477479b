//! What a statement had to work with and what it did: the names bound so far, and the value,
//! bytes read or write of one statement on the machine. The checker's adapter fills an
//! [`Outcome`] from the machine; the rules judge it.

use rustc_hash::FxHashMap;

use crate::scenario::Operand;

/// Values bound to names so far. Only looked up, never iterated, so a hash map decides
/// nothing by its order; its hasher (Fx) has no random seed. A lookup is a short hash and one
/// comparison of names, where an ordered map compared a name with every key on its path
/// (each a `memcmp`, which a fuzzer's build also traces).
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// Keyed by `String`: a lookup by a [`Name`](crate::scenario::Name)'s `&str` then
    /// reads the name's representation once, where a `Name` key would read both sides' for
    /// the hash and the comparison (each read a branch, which a fuzzer's build traces).
    names: FxHashMap<String, u64>,
}

impl Env {
    pub fn bind(&mut self, name: &str, v: u64) {
        match self.names.get_mut(name) {
            Some(x) => *x = v,
            None => {
                self.names.insert(name.to_string(), v);
            }
        }
    }

    /// The operand's value, truncated to the machine's word size on i386.
    pub fn eval(&self, o: &Operand, i386: bool) -> u64 {
        let v = match o {
            Operand::Name { name, offset } => self
                .names
                .get(name.as_str())
                .copied()
                .unwrap_or(0)
                .wrapping_add(*offset as u64),
            Operand::Lit(v) => *v,
            Operand::Null => 0,
        };
        if i386 {
            v & 0xffff_ffff
        } else {
            v
        }
    }
}

/// The largest client access the runner performs; longer ones are cut to it (a scenario
/// that wants more memory touched writes several statements).
pub const MAX_ACCESS: u64 = 64 << 20;

/// What one statement did on the machine.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub value: Option<u64>,
    /// The bytes a `read` returned (None when it faulted).
    pub read: Option<Vec<u8>>,
    /// Whether a `write` happened (false when it faulted).
    pub wrote: bool,
}
