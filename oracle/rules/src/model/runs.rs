//! Per-page facts kept as runs of consecutive pages: a block of 2^order pages is one entry,
//! so what the model does for a block costs the same whatever its order. The same maps keep
//! per-byte facts as runs of bytes (the bytes a client wrote into a slot's checked areas).

use std::collections::BTreeMap;

/// A value for each page of some runs of pages: start -> (exclusive end, value). Runs never
/// overlap; neighbouring runs of the same value are not merged (nothing depends on it).
#[derive(Clone, Debug)]
pub struct RunMap<V> {
    runs: BTreeMap<u64, (u64, V)>,
}

impl<V> Default for RunMap<V> {
    fn default() -> Self {
        RunMap {
            runs: BTreeMap::new(),
        }
    }
}

impl<V: Clone> RunMap<V> {
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The value of page `p`, if it has one.
    pub fn get(&self, p: u64) -> Option<&V> {
        let (_, (end, v)) = self.runs.range(..=p).next_back()?;
        (p < *end).then_some(v)
    }

    /// Pages [s, e) no longer have a value.
    pub fn clear(&mut self, s: u64, e: u64) {
        if s >= e {
            return;
        }
        // From the right: each overlapping run keeps what lies outside [s, e). The common
        // case, nothing there, is one lookup.
        while let Some((&rs, &(re, ref v))) = self.runs.range(..e).next_back() {
            if re <= s {
                return;
            }
            if re > e {
                let v = v.clone();
                self.runs.insert(e, (re, v));
            }
            if rs < s {
                if let Some(r) = self.runs.get_mut(&rs) {
                    r.0 = s;
                }
                return;
            }
            self.runs.remove(&rs);
        }
    }

    /// Every page of [s, e) has the value `v`.
    pub fn set(&mut self, s: u64, e: u64, v: V) {
        if s >= e {
            return;
        }
        // The same run again (a block freed and taken whole): one lookup.
        if let Some(r) = self.runs.get_mut(&s) {
            if r.0 == e {
                r.1 = v;
                return;
            }
        }
        self.clear(s, e);
        self.runs.insert(s, (e, v));
    }

    /// The runs inside [s, e), clipped to it, lowest first.
    pub fn within(&self, s: u64, e: u64) -> impl Iterator<Item = (u64, u64, &V)> + '_ {
        let before = self
            .runs
            .range(..s)
            .next_back()
            .filter(|(_, (re, _))| *re > s && s < e);
        let inside = self.runs.range(s..e.max(s));
        before
            .into_iter()
            .chain(inside)
            .map(move |(&rs, (re, v))| (rs.max(s), (*re).min(e), v))
    }
}

/// A set of pages kept as runs.
#[derive(Clone, Debug, Default)]
pub struct RunSet(RunMap<()>);

impl RunSet {
    pub fn contains(&self, p: u64) -> bool {
        self.0.get(p).is_some()
    }

    /// Adds pages [s, e).
    pub fn insert(&mut self, s: u64, e: u64) {
        self.0.set(s, e, ());
    }

    /// Removes pages [s, e).
    pub fn remove(&mut self, s: u64, e: u64) {
        self.0.clear(s, e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same operations on a map and on one value per page agree on every page.
    #[test]
    fn runs_agree_with_one_entry_per_page() {
        const N: u64 = 96;
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        let mut runs = RunMap::default();
        let mut pages: Vec<Option<u8>> = vec![None; N as usize];
        for step in 0..4000 {
            let s = next(N);
            let e = (s + next(20)).min(N);
            if next(3) == 0 {
                runs.clear(s, e);
                pages[s as usize..e as usize].fill(None);
            } else {
                let v = next(4) as u8;
                runs.set(s, e, v);
                pages[s as usize..e as usize].fill(Some(v));
            }
            for p in 0..N {
                assert_eq!(
                    runs.get(p).copied(),
                    pages[p as usize],
                    "step {step} page {p}"
                );
            }
            let (a, b) = (next(N), next(N));
            let (a, b) = (a.min(b), a.max(b));
            let mut seen: Vec<Option<u8>> = vec![None; (b - a) as usize];
            let mut last_end = a;
            for (rs, re, v) in runs.within(a, b) {
                assert!(
                    a <= rs && rs < re && re <= b && rs >= last_end,
                    "step {step}"
                );
                last_end = re;
                seen[(rs - a) as usize..(re - a) as usize].fill(Some(*v));
            }
            assert_eq!(
                seen,
                pages[a as usize..b as usize],
                "step {step} within {a}..{b}"
            );
        }
        let mut set = RunSet::default();
        set.insert(10, 20);
        set.remove(12, 14);
        assert!(set.contains(11) && !set.contains(12) && !set.contains(13) && set.contains(14));
        assert!(!set.contains(20) && !set.contains(9));
    }
}
