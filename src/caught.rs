//! Where the kernel caught each misuse, found by running the scenario again without the
//! statement that misbehaved: the first report that goes away with it is the one that caught
//! it (at that statement, or later, as a red zone checked at kfree() or a poisoned page
//! checked when handed out). Accesses that are misuse are judged one at a time, the others
//! left out, since two writes into one red zone are caught by one report that either alone
//! would raise. A misuse that no report follows is not caught; the boot options
//! the scenario did not turn on are then tried one by one, the same way, to name one that
//! would catch it. Every run is the deterministic checker, so the answer is too.

use std::collections::{BTreeMap, BTreeSet};

use kmem::{BootConfig, ReportKind, SlubDebug};
use kmem_oracle::model::MisuseKind;
use kmem_oracle::{check, Op, Scenario, Verdict};

/// What became of one misuse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Catch {
    /// A report of this kind at this line caught it.
    Caught { line: u32, report: ReportKind },
    /// No enabled check reports it; `would` is a boot word under which the kernel would.
    NotCaught { would: Option<String> },
    /// Not worked out: the replays it takes went past [`BUDGET`].
    Unjudged,
}

/// How much replaying one attribution may do: each replay costs a boot (about as much as
/// [`BOOT_COST`] statements) plus its statements. A scenario with thousands of misbehaving
/// statements would otherwise take minutes; this allows a few seconds.
pub const BUDGET: usize = 1_000_000;
const BOOT_COST: usize = 500;

/// One `misuse:` line: where, what, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MisuseNote {
    pub line: u32,
    pub kind: MisuseKind,
    pub catch: Catch,
}

/// What the attribution needs of a run: its reports in order (line, kind) and its misuse.
#[derive(Clone, Debug)]
struct Run {
    reports: Vec<(u32, ReportKind)>,
    misuse: Vec<(u32, MisuseKind)>,
}

impl Run {
    fn of(v: &Verdict) -> Run {
        Run {
            // A report left unprinted (once-only, rate limited) was still raised: the check
            // caught the misuse.
            reports: v
                .steps
                .iter()
                .flat_map(|st| {
                    let printed = st.reports.iter().map(|r| r.kind);
                    let quiet = st.silenced.iter().map(|q| q.kind);
                    printed.chain(quiet).map(move |k| (st.line, k))
                })
                .collect(),
            misuse: v.misuse.clone(),
        }
    }
}

/// The scenario without the statements at `lines`, if leaving them out changes nothing
/// else: none binds a name (a later statement would see another value).
fn without(s: &Scenario, lines: &BTreeSet<u32>) -> Option<Scenario> {
    let mut t = s.clone();
    t.stmts.retain(|st| !lines.contains(&st.line));
    let gone = s.stmts.len() - t.stmts.len();
    let binds = s
        .stmts
        .iter()
        .any(|st| lines.contains(&st.line) && st.bind.is_some());
    (gone == lines.len() && !binds).then_some(t)
}

/// The first report at or after `line` in `with` that `without` (the run without that line's
/// statement) does not have.
fn first_gone(
    line: u32,
    with: &[(u32, ReportKind)],
    without: &[(u32, ReportKind)],
) -> Option<(u32, ReportKind)> {
    let mut left: Vec<(u32, ReportKind)> = without.to_vec();
    for &r in with {
        match left.iter().position(|&x| x == r) {
            Some(i) => {
                left.remove(i);
            }
            None if r.0 >= line => return Some(r),
            None => {}
        }
    }
    None
}

/// Runs of one scenario, each computed once.
struct Runs<'a> {
    base: &'a Scenario,
    /// The lines of the client's accesses that are misuse: several may corrupt the same
    /// bytes, and any one of them alone would be caught by the same report, so each is
    /// judged with the others left out.
    accesses: BTreeSet<u32>,
    cache: BTreeMap<(BTreeSet<u32>, Option<usize>), Option<Run>>,
    /// Statements the replays may still run, and whether one was refused.
    budget: usize,
    exhausted: bool,
}

impl Runs<'_> {
    /// The scenario booted with `option` (an index into [`OPTIONS`]) and without the
    /// statements at `skip`; None when that run cannot be made.
    fn run(&mut self, skip: &BTreeSet<u32>, option: Option<usize>) -> Option<Run> {
        let key = (skip.clone(), option);
        if let Some(r) = self.cache.get(&key) {
            return r.clone();
        }
        let mut s = without(self.base, skip);
        if let (Some(s), Some(o)) = (s.as_mut(), option) {
            match OPTIONS[o].apply(&s.boot) {
                Some((boot, _)) => s.boot = boot,
                None => return None,
            }
        }
        if let Some(s) = &s {
            let cost = s.stmts.len() + BOOT_COST;
            if cost > self.budget {
                self.exhausted = true;
                return None;
            }
            self.budget -= cost;
        }
        let r = s.map(|s| Run::of(&check(&s)));
        self.cache.insert(key, r.clone());
        r
    }

    /// Where the misuse at `line` is caught under `option` (None: as the scenario boots),
    /// the other accesses that are misuse left out.
    fn catch(
        &mut self,
        line: u32,
        kind: MisuseKind,
        option: Option<usize>,
    ) -> Option<(u32, ReportKind)> {
        let others: BTreeSet<u32> = self
            .accesses
            .iter()
            .copied()
            .filter(|&l| l != line)
            .collect();
        // The statement must still be a misuse (under another option, with another layout,
        // a write past an object may land in its red zone rather than in a free neighbour:
        // the kind may change).
        let is_misuse = |r: &Run| match option {
            None => r.misuse.contains(&(line, kind)),
            Some(_) => r.misuse.iter().any(|&(l, _)| l == line),
        };
        let alone = self.run(&others, option).filter(|r| is_misuse(r));
        // Without the others the statement may no longer be that misuse: judge it among them.
        let (others, with) = match alone {
            Some(r) => (others, r),
            None => (BTreeSet::new(), self.run(&BTreeSet::new(), option)?),
        };
        if !is_misuse(&with) {
            return None;
        }
        // A report of the misuse's own kind at its line.
        if let MisuseKind::Report(r) = kind {
            if with.reports.contains(&(line, r)) {
                return Some((line, r));
            }
        }
        let mut skip = others;
        skip.insert(line);
        match self.run(&skip, option) {
            Some(without) => first_gone(line, &with.reports, &without.reports),
            // The statement cannot be left out: what it printed itself is all that is known.
            None => with.reports.iter().copied().find(|&(l, _)| l == line),
        }
    }
}

/// A boot option a scenario may not have turned on.
#[derive(Clone, Copy, Debug)]
enum Extra {
    /// slub_debug= letters added to those on.
    Slub(&'static str),
    PagePoison,
    DebugPagealloc,
    DebugVirtual,
}

/// The options tried, in this order: SLUB's red zones, poisoning and consistency checks alone
/// and together (Linux checks a red zone at kfree() only with F), page poisoning,
/// debug_pagealloc, debug_virtual.
const OPTIONS: [Extra; 8] = [
    Extra::Slub("Z"),
    Extra::Slub("P"),
    Extra::Slub("F"),
    Extra::Slub("FZ"),
    Extra::Slub("FP"),
    Extra::PagePoison,
    Extra::DebugPagealloc,
    Extra::DebugVirtual,
];

impl Extra {
    /// The configuration with the option on, and the word that turns it on; None when it is
    /// on already.
    fn apply(self, c: &BootConfig) -> Option<(BootConfig, String)> {
        let mut n = c.clone();
        let word = match self {
            Extra::Slub(letters) => {
                let old = c.slub_debug.unwrap_or_default();
                let add = SlubDebug::parse(letters).ok()?;
                let d = SlubDebug {
                    consistency: old.consistency || add.consistency,
                    red_zone: old.red_zone || add.red_zone,
                    poison: old.poison || add.poison,
                    store_user: old.store_user,
                };
                n.slub_debug = Some(d);
                format!("slub_debug={}", d.letters())
            }
            Extra::PagePoison => {
                n.page_poison = true;
                "page_poison=1".into()
            }
            Extra::DebugPagealloc => {
                n.debug_pagealloc = true;
                "debug_pagealloc=on".into()
            }
            Extra::DebugVirtual => {
                n.debug_virtual = true;
                "debug_virtual=1".into()
            }
        };
        let unchanged =
            n == *c || (c.slub_debug.is_none() && n.slub_debug == Some(SlubDebug::default()));
        (!unchanged).then_some((n, word))
    }
}

/// What became of every misuse of `v`, the verdict of `s`.
pub fn attribute(s: &Scenario, v: &Verdict) -> Vec<MisuseNote> {
    attribute_within(s, v, BUDGET)
}

/// [`attribute`] with a replay budget of `budget` (see [`BUDGET`]).
pub fn attribute_within(s: &Scenario, v: &Verdict, budget: usize) -> Vec<MisuseNote> {
    let accesses = v
        .misuse
        .iter()
        .map(|&(line, _)| line)
        .filter(|&line| {
            s.stmts.iter().any(|st| {
                st.line == line
                    && st.bind.is_none()
                    && matches!(st.op, Op::Write { .. } | Op::Read { .. })
            })
        })
        .collect();
    let mut runs = Runs {
        base: s,
        accesses,
        cache: BTreeMap::new(),
        budget,
        exhausted: false,
    };
    runs.cache.insert((BTreeSet::new(), None), Some(Run::of(v)));
    v.misuse
        .iter()
        .map(|&(line, kind)| {
            if runs.exhausted {
                return MisuseNote {
                    line,
                    kind,
                    catch: Catch::Unjudged,
                };
            }
            let catch = match runs.catch(line, kind, None) {
                Some((line, report)) => Catch::Caught { line, report },
                None => Catch::NotCaught {
                    would: (0..OPTIONS.len()).find_map(|o| {
                        let (_, word) = OPTIONS[o].apply(&s.boot)?;
                        runs.catch(line, kind, Some(o)).map(|_| word)
                    }),
                },
            };
            let catch = if runs.exhausted {
                Catch::Unjudged
            } else {
                catch
            };
            MisuseNote { line, kind, catch }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notes(text: &str) -> Vec<(u32, String, Catch)> {
        let s = kmem_oracle::parse(text).expect("scenario");
        let v = check(&s);
        attribute(&s, &v)
            .into_iter()
            .map(|n| (n.line, n.kind.as_str().to_string(), n.catch))
            .collect()
    }

    #[test]
    fn past_the_budget_nothing_is_claimed() {
        let s = kmem_oracle::parse(
            "boot slub_debug\nc = kmem_cache_create t 64 0 0\np = kmem_cache_alloc c GFP_KERNEL\n\
             write p+64 1 0x41\nwrite p+65 1 0x41\nkmem_cache_free c p\n",
        )
        .unwrap();
        let v = check(&s);
        // Room for one replay: the first misuse cannot be worked out, nor any after it.
        let n = attribute_within(&s, &v, BOOT_COST + 10);
        assert_eq!(n.len(), 2);
        assert!(n.iter().all(|n| n.catch == Catch::Unjudged), "{n:?}");
        assert!(attribute_within(&s, &v, BUDGET)
            .iter()
            .all(|n| matches!(n.catch, Catch::Caught { .. })));
    }

    fn caught(line: u32, report: ReportKind) -> Catch {
        Catch::Caught { line, report }
    }

    #[test]
    fn a_misuse_reported_where_it_happens() {
        let n = notes("p = alloc_pages GFP_KERNEL 0\n__free_pages p 0\n__free_pages p 0\n");
        assert_eq!(
            n,
            [(3, "double-free".into(), caught(3, ReportKind::DoubleFree))]
        );
    }

    #[test]
    fn a_write_caught_later_and_two_writes_caught_by_one_report() {
        let n = notes(
            "boot page_poison=1\na = __get_free_page GFP_KERNEL\nfree_page a\n\
             write a+128 8 0x41\nb = __get_free_page GFP_KERNEL\n",
        );
        assert_eq!(
            n,
            [(
                4,
                "use-after-free".into(),
                caught(5, ReportKind::PagePoisonOverwritten)
            )]
        );
        let n = notes(
            "boot slub_debug\nc = kmem_cache_create t 64 0 0\np = kmem_cache_alloc c GFP_KERNEL\n\
             write p+64 1 0x41\nwrite p+65 1 0x41\nkmem_cache_free c p\n",
        );
        let want = caught(6, ReportKind::RedzoneOverwritten);
        assert_eq!(
            n,
            [
                (4, "out-of-bounds".into(), want.clone()),
                (5, "out-of-bounds".into(), want)
            ]
        );
    }

    #[test]
    fn a_misuse_no_enabled_check_catches_names_an_option_that_would() {
        let n = notes(
            "c = kmem_cache_create t 64 0 0\np = kmem_cache_alloc c GFP_KERNEL\n\
             write p+64 1 0x41\nkmem_cache_free c p\n",
        );
        assert_eq!(
            n[0].2,
            Catch::NotCaught {
                would: Some("slub_debug=FZ".into())
            }
        );
        // SLUB never checks a read.
        let n = notes("boot slub_debug\np = kmalloc 100 GFP_KERNEL\nread p+100 4\nkfree p\n");
        assert_eq!(n[0].0, 3);
        assert_eq!(n[0].2, Catch::NotCaught { would: None });
    }
}
