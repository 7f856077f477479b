//! The checker: runs a scenario on a fresh machine and on the reference model side by side,
//! compares after every statement, and returns the verdict.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use kmem::{Buddy, KmemSeams, Machine, PageAllocator, ReportKind, Seams};

use crate::model::facts::Facts;
use crate::model::{FailureKind, Judgement, Model, WalkCall};
use crate::run::{execute, word, Env};
use crate::scenario::{Family, Op, Scenario, Stmt};
use crate::verdict::{Failure, ReadBytes, Step, TaintCause, Verdict};

/// Builds the page allocator the machine runs on (the real buddy, or one under test).
pub type AllocatorFactory<'a> =
    &'a dyn Fn(Vec<kmem::zone::Zone>, &[(u64, u64)]) -> Box<dyn PageAllocator>;

#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Keep every step's text, value and reports (replay); off when fuzzing.
    pub record_steps: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { record_steps: true }
    }
}

/// Checks a scenario on the real kernel model.
pub fn check(s: &Scenario) -> Verdict {
    check_with(s, Options::default(), &|z, r| Box::new(Buddy::new(z, r)))
}

/// Checks a scenario on a machine whose page allocator `make` builds.
pub fn check_with(s: &Scenario, opts: Options, make: AllocatorFactory<'_>) -> Verdict {
    check_with_seams(s, opts, make, &KmemSeams)
}

/// Checks a scenario on a machine whose page allocator `make` builds and whose other seams
/// `seams` builds (the broken implementations of the oracle's own tests, legal variants).
pub fn check_with_seams(
    s: &Scenario,
    opts: Options,
    make: AllocatorFactory<'_>,
    seams: &dyn Seams,
) -> Verdict {
    let mut v = Verdict::default();
    let line = Cell::new(1u32);
    let result = catch_unwind(AssertUnwindSafe(|| {
        run(s, opts, make, seams, &mut v, &line)
    }));
    if let Err(p) = result {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        v.failures.push(Failure {
            line: line.get(),
            kind: FailureKind::Panic,
            message: format!("the kernel model panicked: {msg}"),
        });
    }
    v
}

fn run(
    s: &Scenario,
    opts: Options,
    make: AllocatorFactory<'_>,
    seams: &dyn Seams,
    v: &mut Verdict,
    line: &Cell<u32>,
) {
    let mut m = match Machine::boot_with_seams(&s.boot, make, seams) {
        Ok(m) => m,
        Err(e) => {
            v.failures.push(Failure {
                line: 1,
                kind: FailureKind::WrongValue,
                message: format!("boot failed: {e}"),
            });
            return;
        }
    };
    m.log_mut().set_keep_lines(false);
    // Reports are judged by kind (and a WARN's by its site): their texts are formatted
    // only when the steps that show them are kept.
    m.log_mut().set_texts(opts.record_steps);
    m.record_page_events(true);
    let facts = Facts::new(&s.boot);
    let l = m.layout();
    let reserved: Vec<(u64, u64)> = l.reserved.iter().map(|&(a, b, _)| (a, b)).collect();
    let mismatch = facts
        .boot_mismatch(&reserved, l.mem_map, l.struct_page_size)
        .or_else(|| layout_mismatch(&facts, l));
    if let Some(msg) = mismatch {
        v.failures.push(Failure {
            line: 1,
            kind: FailureKind::WrongValue,
            message: format!("boot: {msg}"),
        });
        return;
    }
    let mut model = Model::new(facts, s.boot.clone());
    // The placement rule the machine's vmalloc space declares: the lowest fit is predicted.
    model.set_vmap_fit(m.vmalloc_fit());
    let mut env = Env::default();
    let i386 = s.boot.arch == kmem::Arch::I386;
    let mut seen = Seen::default();
    for (index, stmt) in (1u32..).zip(&s.stmts) {
        line.set(stmt.line);
        // SLUB's tracks name the statement that allocated or freed (docs/model.md).
        m.set_caller(u64::from(index));
        let mut texts = Texts::default();
        let mut out = Default::default();
        // A `repeat` makes each call in turn, judged as its own statement at the same line,
        // until one returns NULL; its value is how many did not. The free lists are
        // compared once, after the last call: a lost merge still shows at the statement
        // that caused it, and a long repeat stays linear.
        let mut done = 0u64;
        let mut page_traffic = false;
        // What the calls printed is kept only for the replay's steps.
        let mut keep = opts.record_steps.then_some(&mut texts);
        if let Some(first) = stmt.walk_first(|page| env.eval(page, i386)) {
            // A walk kunmaps each page it kmapped before it takes the next; each call is
            // made and judged by number, without a statement built for it.
            let struct_page = m.layout().struct_page_size;
            // Makes one call and judges it.
            let mut call = |m: &mut Machine, page: u64, unmap: bool| {
                let value = crate::run::walk_call(m, page, unmap);
                let call = match unmap {
                    false => WalkCall::Kmap { page, value },
                    true => WalkCall::Kunmap { page },
                };
                let traffic = judge_call(
                    m,
                    &mut model,
                    &mut seen,
                    (index, stmt, Family::Highmem),
                    v,
                    keep.as_deref_mut(),
                    |model, j, events| model.judge_walk_call(j, stmt.line, call, events),
                );
                (value, traffic)
            };
            for i in 0..stmt.calls() {
                let page = walk_page(first, i, struct_page, i386);
                let (value, traffic) = call(&mut m, page, false);
                page_traffic |= traffic;
                if value == 0 {
                    break;
                }
                done += 1;
                page_traffic |= call(&mut m, page, true).1;
            }
        } else {
            for _ in 0..stmt.calls() {
                out = execute(&mut m, &env, &stmt.op);
                page_traffic |= judge_call(
                    &mut m,
                    &mut model,
                    &mut seen,
                    (index, stmt, stmt.op.family()),
                    v,
                    keep.as_deref_mut(),
                    |model, j, events| model.judge_into(j, stmt.line, &stmt.op, &env, &out, events),
                );
                if stmt.repeat.is_some() && out.value.unwrap_or(0) == 0 {
                    break;
                }
                done += 1;
            }
        }
        if page_traffic && !model.tainted() {
            compare_buddyinfo(stmt.line, &model, &m, v);
        }
        let read = opts
            .record_steps
            .then(|| read_bytes(&m, &env, &stmt.op, out.read.as_deref()))
            .flatten();
        let value = match stmt.repeat {
            Some(_) => Some(done),
            None => {
                (stmt.returns() != crate::scenario::Ret::Nothing).then(|| out.value.unwrap_or(0))
            }
        };
        if let Some(name) = &stmt.bind {
            env.bind(name, value.unwrap_or(0));
        }
        if v.taint.is_none() && model.tainted_or_pending() {
            v.taint = Some((stmt.line, TaintCause::Misuse));
        }
        if opts.record_steps {
            v.steps.push(Step {
                line: stmt.line,
                text: stmt.to_string(),
                value,
                reports: texts.reports,
                silenced: texts.silenced,
                warnings: texts.warnings,
                op: index,
                read,
            });
        }
    }
    v.tainted = model.tainted();
}

/// What the calls of a statement printed, for the replay's step.
#[derive(Default)]
struct Texts {
    reports: Vec<kmem::Report>,
    silenced: Vec<kmem::Silenced>,
    warnings: Vec<String>,
}

/// Judges one call of `stmt` (a function of `family`) the machine has just made: the
/// model's judgement, which `judge` asks of it given the call's page events, and the
/// reports; what the call printed goes to `keep` when it is kept. Returns whether the call
/// is a page allocator function or caused page events.
fn judge_call(
    m: &mut Machine,
    model: &mut Model,
    seen: &mut Seen,
    (index, stmt, family): (u32, &Stmt, Family),
    v: &mut Verdict,
    keep: Option<&mut Texts>,
    judge: impl FnOnce(&mut Model, &mut Judgement, &[kmem::PageEvent]),
) -> bool {
    // `seen.judgement` is empty between calls.
    let j = &mut seen.judgement;
    let events = m.page_events();
    judge(model, j, events);
    let any_events = !events.is_empty();
    if any_events {
        m.clear_page_events();
    }
    let page_traffic = any_events || family == Family::Pages;
    // Nothing printed, nothing found, expected or allowed: nothing to record or compare
    // (the common case).
    if j.is_empty() && !m.has_pending_output() {
        return page_traffic;
    }
    // warn_alloc()'s prints, and slab_out_of_memory()'s, judged beside the call's other
    // findings (jiffies is the statement's index, as `set_caller` made it).
    model.judge_warn_alloc(j, u64::from(index), m.take_warn_alloc());
    model.judge_slab_oom(j, u64::from(index), m.take_slab_oom());
    let reports = m.take_reports();
    let silenced = m.take_silenced();
    seen.printed.add(index, &reports);
    for &k in &j.misuse {
        // A repeated misuse is recorded once per statement.
        if stmt.repeat.is_none() || !v.misuse.contains(&(stmt.line, k)) {
            v.misuse.push((stmt.line, k));
        }
    }
    // Once tainted, only a panic fails the run (docs/design.md, "Taint").
    for (kind, message) in j.failures.drain(..) {
        if !model.tainted() {
            v.failures.push(Failure {
                line: stmt.line,
                kind,
                message,
            });
        }
    }
    // Nothing printed and nothing expected: nothing to compare.
    let nothing_to_compare = reports.is_empty() && j.expect.is_empty();
    if !model.tainted() && !nothing_to_compare {
        let unprinted = seen.printed.justified(index, &silenced);
        if compare_reports(stmt.line, &j.expect, &j.allow, &reports, &unprinted, v) {
            // A report the model allowed but could not pin down: from here on the kernel's
            // state is no longer predicted.
            model.taint();
            v.taint = Some((stmt.line, TaintCause::AllowedReport));
        }
    }
    match keep {
        Some(t) => {
            t.reports.extend(reports);
            t.silenced.extend(silenced);
            t.warnings.extend(m.take_warnings());
        }
        None => drop(m.take_warnings()),
    }
    j.clear();
    page_traffic
}

/// What the checker carries from call to call: the reports printed so far, and the buffers
/// of one call's judgement.
#[derive(Default)]
struct Seen {
    printed: Printed,
    judgement: Judgement,
}

/// The page call `i` of a walk from `first` takes (`Stmt::call`'s operand, by number).
fn walk_page(first: u64, i: u32, struct_page: u64, i386: bool) -> u64 {
    word(
        first.wrapping_add(u64::from(i).wrapping_mul(struct_page)),
        i386,
    )
}

/// The address and bytes of a `read` that did not fault, the first [`ReadBytes::KEPT`] kept.
fn read_bytes(m: &Machine, env: &Env, op: &Op, got: Option<&[u8]>) -> Option<ReadBytes> {
    let (Op::Read { addr, len }, Some(bytes)) = (op, got) else {
        return None;
    };
    Some(ReadBytes {
        addr: env.eval(addr, m.layout().arch == kmem::Arch::I386),
        len: *len.min(&crate::run::MAX_ACCESS),
        bytes: bytes.iter().take(ReadBytes::KEPT).copied().collect(),
    })
}

/// The free lists must be exactly what the free pages call for (a lost or wrong merge shows
/// here at once, long before memory runs out), and the zone's free page count with them.
fn compare_buddyinfo(line: u32, model: &Model, m: &Machine, v: &mut Verdict) {
    let Some(expected) = model.expected_buddyinfo() else {
        return;
    };
    let alloc = m.page_allocator();
    for (zi, want) in expected.iter().enumerate() {
        let row = alloc.buddyinfo(zi);
        if row != *want {
            let got = row.to_vec();
            v.failures.push(Failure {
                line,
                kind: FailureKind::Buddyinfo,
                message: format!(
                    "zone {}: /proc/buddyinfo shows {:?}, the free pages call for {:?}",
                    model.zone_name(zi),
                    got,
                    want
                ),
            });
            return;
        }
        // NR_FREE_PAGES (what the watermark checks and /proc/meminfo read) must agree.
        let pages: u64 = want.iter().enumerate().map(|(o, n)| n << o).sum();
        if alloc.free_pages(zi) != pages {
            v.failures.push(Failure {
                line,
                kind: FailureKind::Buddyinfo,
                message: format!(
                    "zone {}: NR_FREE_PAGES is {}, the free lists hold {pages}",
                    model.zone_name(zi),
                    alloc.free_pages(zi)
                ),
            });
            return;
        }
    }
}

/// The areas of the boot configuration's kernel profile, as the machine laid them out and as
/// the oracle's facts work them out: None when they agree.
fn layout_mismatch(f: &Facts, l: &kmem::layout::Layout) -> Option<String> {
    let mut areas = vec![
        ("high_memory", l.high_memory, f.high_memory),
        ("VMALLOC_START", l.vmalloc_start, f.vmalloc_start),
        ("VMALLOC_END", l.vmalloc_end, f.vmalloc_end),
        ("PKMAP_BASE", l.pkmap_base, f.pkmap_base),
        ("LAST_PKMAP", l.last_pkmap, f.last_pkmap),
    ];
    if l.arch == kmem::Arch::I386 {
        let slot = f.fixaddr_top - (f.fix_kmap_begin << crate::model::facts::PAGE_SHIFT);
        areas.push(("the first kmap_local slot", l.kmap_slot_addr(0), slot));
        areas.push(("FIXADDR_START", l.fixaddr_start, f.fixaddr_start));
    }
    areas
        .into_iter()
        .find(|&(_, got, want)| got != want)
        .map(|(name, got, want)| {
            format!("{name} is {got:#x}, the kernel profile's layout puts it at {want:#x}")
        })
}

/// The reports printed so far, by statement index, with the site of each printed by a
/// WARN(), to judge what the kernel left unprinted.
#[derive(Default)]
struct Printed {
    reports: Vec<(u32, ReportKind, Option<String>)>,
}

impl Printed {
    fn add(&mut self, index: u32, reports: &[kmem::Report]) {
        self.reports
            .extend(reports.iter().map(|r| (index, r.kind, r.site.clone())));
    }

    /// The kinds of the silenced reports the kernel was entitled to leave unprinted: a
    /// once-only site must have printed before (a report of the kind from that WARN), and a
    /// rate limit must have let `burst` reports of the kind through since `interval`
    /// statements before this one: ___ratelimit()'s window runs from its first call `begin`
    /// to `begin + interval` inclusive (it ends once `begin + interval` is before jiffies),
    /// and one statement is one jiffy. Anything else stays missing.
    fn justified(&self, index: u32, silenced: &[kmem::Silenced]) -> Vec<ReportKind> {
        silenced
            .iter()
            .filter(|s| match s.why {
                kmem::Silence::Once => self
                    .reports
                    .iter()
                    .any(|(_, k, site)| *k == s.kind && site.as_deref() == Some(&s.site)),
                kmem::Silence::Ratelimit { interval, burst } => {
                    let since = u64::from(index).saturating_sub(interval);
                    let n = self
                        .reports
                        .iter()
                        .filter(|(i, k, _)| *k == s.kind && u64::from(*i) >= since)
                        .count();
                    n as u64 >= burst
                }
            })
            .map(|s| s.kind)
            .collect()
    }
}

/// Every expected report must be there, printed or left unprinted as Linux may
/// (`unprinted`); reports in `allow` may be; nothing else. Returns whether an allowed report
/// was printed.
fn compare_reports(
    line: u32,
    expect: &[ReportKind],
    allow: &[ReportKind],
    got: &[kmem::Report],
    unprinted: &[ReportKind],
    v: &mut Verdict,
) -> bool {
    let mut left: Vec<ReportKind> = got.iter().map(|r| r.kind).collect();
    let mut quiet = unprinted.to_vec();
    for e in expect {
        if let Some(i) = left.iter().position(|k| k == e) {
            left.remove(i);
            continue;
        }
        match quiet.iter().position(|k| k == e) {
            Some(i) => {
                quiet.remove(i);
            }
            None => v.failures.push(Failure {
                line,
                kind: FailureKind::MissedReport,
                message: format!("the kernel must report {e} here and did not"),
            }),
        }
    }
    let mut allowed = false;
    for k in left {
        if allow.contains(&k) {
            allowed = true;
            continue;
        }
        v.failures.push(Failure {
            line,
            kind: FailureKind::FalseReport,
            message: format!("the kernel reported {k} without a misuse that calls for it"),
        });
    }
    allowed
}

/// Runs a scenario on the machine alone, without the model: the baseline the oracle's
/// overhead is measured against. Returns how many calls it made (a `repeat` makes several).
pub fn execute_only(s: &Scenario) -> usize {
    let Ok(mut m) = Machine::boot(&s.boot) else {
        return 0;
    };
    m.log_mut().set_keep_lines(false);
    let mut env = Env::default();
    let i386 = s.boot.arch == kmem::Arch::I386;
    let mut n = 0;
    for (index, stmt) in (1u64..).zip(&s.stmts) {
        m.set_caller(index);
        let (mut value, mut done) = (0, 0);
        let struct_page = m.layout().struct_page_size;
        let first = stmt.walk_first(|page| env.eval(page, i386));
        for i in 0..stmt.calls() {
            // A walk's calls as the checker makes them.
            let page = first.map(|p| walk_page(p, i, struct_page, i386));
            value = match page {
                Some(page) => crate::run::walk_call(&mut m, page, false),
                None => execute(&mut m, &env, &stmt.op).value.unwrap_or(0),
            };
            m.take_reports();
            m.take_warnings();
            n += 1;
            if stmt.repeat.is_some() && value == 0 {
                break;
            }
            done += 1;
            if let Some(page) = page {
                crate::run::walk_call(&mut m, page, true);
                m.take_reports();
                m.take_warnings();
                n += 1;
            }
        }
        if let Some(name) = &stmt.bind {
            env.bind(name, if stmt.repeat.is_some() { done } else { value });
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use kmem::{Report, Silence, Silenced};

    /// A report; `site` for one printed by a WARN() there.
    fn report(kind: ReportKind, site: &str) -> Report {
        Report {
            kind,
            text: String::new(),
            site: (!site.is_empty()).then(|| site.to_string()),
        }
    }

    fn quiet(kind: ReportKind, site: &str, why: Silence) -> Silenced {
        Silenced {
            kind,
            site: site.to_string(),
            why,
        }
    }

    #[test]
    fn a_once_only_report_may_go_unprinted_only_after_its_site_printed() {
        let mut p = Printed::default();
        let q = [quiet(
            ReportKind::KmapMisuse,
            "mm/highmem.c:611",
            Silence::Once,
        )];
        // Nothing printed yet: the kernel may not keep it quiet.
        assert!(p.justified(3, &q).is_empty());
        // Another site printed: still not.
        p.add(2, &[report(ReportKind::KmapMisuse, "mm/highmem.c:605")]);
        assert!(p.justified(3, &q).is_empty());
        p.add(2, &[report(ReportKind::KmapMisuse, "mm/highmem.c:611")]);
        assert_eq!(p.justified(3, &q), [ReportKind::KmapMisuse]);
    }

    #[test]
    fn a_rate_limited_report_may_go_unprinted_only_once_the_burst_is_spent() {
        let why = Silence::Ratelimit {
            interval: 5,
            burst: 2,
        };
        let q = [quiet(
            ReportKind::PagePoisonOverwritten,
            "check_poison_mem",
            why,
        )];
        let mut p = Printed::default();
        p.add(1, &[report(ReportKind::PagePoisonOverwritten, "")]);
        assert!(p.justified(4, &q).is_empty(), "one of two printed");
        p.add(4, &[report(ReportKind::PagePoisonOverwritten, "")]);
        assert_eq!(p.justified(4, &q), [ReportKind::PagePoisonOverwritten]);
        // A window that began at 1 lasts to 1 + 5 inclusive; after it the first no longer
        // counts.
        assert_eq!(p.justified(6, &q), [ReportKind::PagePoisonOverwritten]);
        assert!(p.justified(7, &q).is_empty());
    }

    #[test]
    fn the_machines_layout_is_checked_against_the_profiles() {
        let cfg = |w: &[&str]| kmem::BootConfig::parse_words(w.iter().copied()).unwrap();
        for words in [
            &["mem=1G"][..],
            &["mem=1G", "kernel=2.6"],
            &["mem=8G", "pae=1"],
            &["mem=2G", "pae=1", "kernel=2.6"],
            &["arch=x86_64", "mem=2G"],
        ] {
            let l = kmem::layout::Layout::new(&cfg(words));
            assert_eq!(
                layout_mismatch(&Facts::new(&cfg(words)), &l),
                None,
                "{words:?}"
            );
        }
        // A machine laid out by 6.6's formulas judged against 2.6's facts.
        let l = kmem::layout::Layout::new(&cfg(&["mem=1G"]));
        let f = Facts::new(&cfg(&["mem=1G", "kernel=2.6"]));
        let msg = layout_mismatch(&f, &l).expect("a mismatch");
        assert!(msg.starts_with("high_memory is 0xf6ffe000"), "{msg}");
    }

    #[test]
    fn an_expected_report_left_unprinted_without_cause_is_missed() {
        let mut v = Verdict::default();
        let allowed = compare_reports(
            7,
            &[ReportKind::WrongCache, ReportKind::WrongCache],
            &[],
            &[],
            &[ReportKind::WrongCache],
            &mut v,
        );
        assert!(!allowed);
        assert_eq!(v.failures.len(), 1);
        assert_eq!(v.failures[0].kind, FailureKind::MissedReport);
    }
}
