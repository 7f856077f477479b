//! A draw source that answers the generator from a list of chosen numbers and writes down
//! every draw, and the bytes that make the fuzzer's source answer the same.

use arbitrary::{Error, Result};

use super::super::generate::Draw;

/// One draw: the range asked for and the number answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Drawn {
    pub lo: u64,
    pub hi: u64,
    pub value: u64,
}

/// What to answer once the chosen numbers are used up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then<'a> {
    /// Fail the draw (the generator stops), remembering the range asked for.
    Stop,
    /// The lowest number of the range, which is also what the fuzzer's source answers when
    /// its bytes run out.
    Lowest,
    /// The highest number of the range.
    Highest,
    /// The next of these numbers (the target statement's, in its order) that is in the
    /// range, else the lowest. Only draws that look like numbers are aimed: a choice among a
    /// few (from 0, under 64 ways) or a `chance` (0 to 99) gets the lowest.
    Aim(&'a [u64]),
    /// As [`Then::Aim`], but a choice is answered by a number that `seed` picks (a `chance`
    /// by one of its ends): one of several runs down the branches after a node, which shows
    /// what they can write (a function decided by a later choice).
    Roll(&'a [u64], u64),
}

/// Answers draws from `chosen`, then as `then` says.
pub struct Steer<'a> {
    chosen: &'a [u64],
    then: Then<'a>,
    /// How many of [`Then::Aim`]'s numbers were used (answered or chosen).
    aimed: usize,
    /// Every draw answered, in order.
    pub drawn: Vec<Drawn>,
    /// The range of the draw refused by [`Then::Stop`].
    pub wanted: Option<(u64, u64)>,
}

/// Whether a draw looks like a choice among a few (a branch, a list), not a number: what
/// [`Then::Aim`] answers with the lowest.
pub fn is_choice(lo: u64, hi: u64) -> bool {
    (lo, hi) == (0, 99) || (lo == 0 && hi < 64)
}

impl<'a> Steer<'a> {
    pub fn new(chosen: &'a [u64], then: Then<'a>) -> Self {
        Steer {
            chosen,
            then,
            aimed: 0,
            drawn: Vec::new(),
            wanted: None,
        }
    }
}

impl Draw for Steer<'_> {
    fn draw(&mut self, lo: u64, hi: u64) -> Result<u64> {
        let value = match self.chosen.get(self.drawn.len()) {
            // A chosen number out of the range (the range changed with an earlier choice)
            // is taken modulo the range, as the byte source does.
            Some(&v) => {
                let v = lo + (v - lo.min(v)) % (hi - lo).saturating_add(1).max(1);
                // A chosen number that is the next aimed one uses it up: the later draws
                // aim at the numbers after it.
                if let Then::Aim(numbers) | Then::Roll(numbers, _) = self.then {
                    if numbers.get(self.aimed) == Some(&v) && (lo, hi) != (0, 99) {
                        self.aimed += 1;
                    }
                }
                v
            }
            None => match self.then {
                Then::Lowest => lo,
                Then::Highest => hi,
                Then::Aim(_) if is_choice(lo, hi) => lo,
                Then::Roll(_, seed) if is_choice(lo, hi) => {
                    let r = mix(seed, self.drawn.len() as u64);
                    match (lo, hi) {
                        (0, 99) => [lo, hi][(r & 1) as usize],
                        _ => lo + r % (hi - lo + 1),
                    }
                }
                Then::Aim(numbers) | Then::Roll(numbers, _) => {
                    let rest = numbers.get(self.aimed..).unwrap_or(&[]);
                    match rest.iter().position(|n| (lo..=hi).contains(n)) {
                        Some(i) => {
                            self.aimed += i + 1;
                            rest[i]
                        }
                        None => lo,
                    }
                }
                Then::Stop => {
                    self.wanted = Some((lo, hi));
                    return Err(Error::NotEnoughData);
                }
            },
        };
        self.drawn.push(Drawn { lo, hi, value });
        Ok(value)
    }

    fn is_empty(&self) -> bool {
        self.drawn.len() >= self.chosen.len()
    }
}

/// A number that `seed` and `n` pick (splitmix64's finalizer: deterministic, well spread).
pub fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The bytes that make `arbitrary::Unstructured::int_in_range(lo..=hi)` answer `value`: the
/// offset from `lo` big-endian, in as many bytes as the range's width needs.
pub fn bytes_of(d: &Drawn, out: &mut Vec<u8>) {
    let delta = d.hi - d.lo;
    let offset = d.value - d.lo;
    let width = (u64::BITS - delta.leading_zeros()).div_ceil(8);
    for i in (0..width).rev() {
        out.push(((offset >> (8 * i)) & 0xff) as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbitrary::Unstructured;

    #[test]
    fn the_byte_source_answers_what_was_written() {
        let ranges = [
            (0, 1),
            (0, 99),
            (5, 300),
            (1, 1 << 22),
            (0, u64::MAX),
            (7, 8),
        ];
        for &(lo, hi) in &ranges {
            for value in [lo, hi, lo + (hi - lo) / 3, lo + 1] {
                let mut bytes = Vec::new();
                bytes_of(&Drawn { lo, hi, value }, &mut bytes);
                let mut u = Unstructured::new(&bytes);
                assert_eq!(u.int_in_range(lo..=hi).unwrap(), value, "{lo}..={hi}");
                assert!(u.is_empty(), "{lo}..={hi}: {} bytes left", u.len());
            }
        }
    }
}
