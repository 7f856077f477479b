//! What a statement had to work with and what it did: the names bound so far, and the value,
//! bytes read or write of one statement on the machine. The checker's adapter fills an
//! [`Outcome`] from the machine; the rules judge it.

use rustc_hash::FxHashMap;

use crate::scenario::Operand;

/// Values bound to names so far. Only looked up, never iterated, so a hash map decides
/// nothing by its order; its hasher (Fx) has no random seed. A name of up to
/// [`ShortKey::MAX`] bytes (every name the generator makes, and most written by hand) is
/// looked up as one integer ([`ShortKey`]): hashing it is two multiplications and comparing
/// it two integer comparisons, where hashing a string loops over its bytes and comparing
/// strings calls `memcmp` (and a fuzzer's build traces every step of both). Longer names
/// are kept by their text.
#[derive(Clone, Debug, Default)]
pub struct Env {
    short: FxHashMap<u128, u64>,
    long: FxHashMap<String, u64>,
}

/// A name of up to [`ShortKey::MAX`] bytes as one integer: its bytes, then its length in
/// the last byte (so no two names share a key).
struct ShortKey;

impl ShortKey {
    const MAX: usize = 15;

    fn of(name: &str) -> Option<u128> {
        let b = name.as_bytes();
        if b.len() > Self::MAX {
            return None;
        }
        let mut k = [0u8; 16];
        k[..b.len()].copy_from_slice(b);
        k[Self::MAX] = b.len() as u8;
        Some(u128::from_le_bytes(k))
    }
}

impl Env {
    pub fn bind(&mut self, name: &str, v: u64) {
        match ShortKey::of(name) {
            Some(k) => {
                self.short.insert(k, v);
            }
            None => match self.long.get_mut(name) {
                Some(x) => *x = v,
                None => {
                    self.long.insert(name.to_string(), v);
                }
            },
        }
    }

    /// The value bound to `name`, 0 if none is.
    fn get(&self, name: &str) -> u64 {
        match ShortKey::of(name) {
            Some(k) => self.short.get(&k),
            None => self.long.get(name),
        }
        .copied()
        .unwrap_or(0)
    }

    /// The operand's value, truncated to the machine's word size on i386.
    pub fn eval(&self, o: &Operand, i386: bool) -> u64 {
        let v = match o {
            Operand::Name { name, offset } => self.get(name).wrapping_add(*offset as u64),
            Operand::Lit(v) => *v,
            Operand::Null => 0,
        };
        word(v, i386)
    }
}

/// `v` as a machine word: its low 32 bits on i386.
pub fn word(v: u64, i386: bool) -> u64 {
    if i386 {
        v & 0xffff_ffff
    } else {
        v
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_short_and_long_bind_apart() {
        let names = [
            "",
            "p",
            "p1",
            "p10",
            "a_fifteen_bytes",  // 15: the longest short key
            "sixteen_bytes_ab", // 16: kept by its text
            "sixteen_bytes_a",  // a prefix of it, short
            "a_much_longer_name_than_that",
        ];
        let mut env = Env::default();
        for (v, n) in (1u64..).zip(names) {
            env.bind(n, v);
        }
        for (v, n) in (1u64..).zip(names) {
            assert_eq!(env.eval(&Operand::name(n), false), v, "{n}");
        }
        assert_eq!(env.eval(&Operand::name("p2"), false), 0);
        // Bound again: the new value.
        env.bind("p10", 99);
        env.bind("sixteen_bytes_ab", 98);
        assert_eq!(env.eval(&Operand::name("p10"), false), 99);
        assert_eq!(env.eval(&Operand::name("sixteen_bytes_ab"), false), 98);
        let off = Operand::Name {
            name: "p".into(),
            offset: -1,
        };
        // p is 2.
        assert_eq!(env.eval(&off, false), 1);
        assert_eq!(env.eval(&Operand::Lit(0x1_2345_6789), true), 0x2345_6789);
    }
}
