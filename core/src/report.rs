//! The one report type every debug check speaks through, and the kernel log it lands in.

use std::collections::{BTreeMap, BTreeSet};

pub use kmem_vocab::report::{Report, ReportKind, Silence, Silenced};

/// A kernel taint flag: its bit in the taint mask (include/linux/panic.h, Linux 6.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Taint {
    ProprietaryModule = 0,
    ForcedModule = 1,
    CpuOutOfSpec = 2,
    ForcedRmmod = 3,
    MachineCheck = 4,
    /// 'B': bad_page(), SLUB's slab_err()/object_err()/check_bytes_and_report(), KASAN.
    BadPage = 5,
    User = 6,
    /// 'D': an oops (oops_end() / die()): page faults, BUG(), BUG_ON().
    Die = 7,
    OverriddenAcpiTable = 8,
    /// 'W': a WARN() (__warn()) or __might_resched()'s "sleeping function called from
    /// invalid context".
    Warn = 9,
    Crap = 10,
    FirmwareWorkaround = 11,
    OotModule = 12,
    UnsignedModule = 13,
    Softlockup = 14,
    Livepatch = 15,
    Aux = 16,
    Randstruct = 17,
    Test = 18,
}

/// kernel/panic.c's taint_flags[] (6.6: TAINT_FLAGS_COUNT is 19): the character printed for
/// each bit when set and when clear, in bit order.
const TAINT_FLAGS: [(char, char); 19] = [
    ('P', 'G'),
    ('F', ' '),
    ('S', ' '),
    ('R', ' '),
    ('M', ' '),
    ('B', ' '),
    ('U', ' '),
    ('D', ' '),
    ('A', ' '),
    ('W', ' '),
    ('C', ' '),
    ('I', ' '),
    ('O', ' '),
    ('E', ' '),
    ('L', ' '),
    ('K', ' '),
    ('X', ' '),
    ('T', ' '),
    ('N', ' '),
];

impl Taint {
    /// The flag's bit in the taint mask.
    pub fn mask(self) -> u32 {
        1 << self as u32
    }

    /// Whether the add_taint() calls the model mirrors pass LOCKDEP_NOW_UNRELIABLE for this
    /// flag: bad_page() and SLUB do for TAINT_BAD_PAGE, oops_end() for TAINT_DIE; __warn() and
    /// __might_resched() pass LOCKDEP_STILL_OK for TAINT_WARN.
    fn lockdep_now_unreliable(self) -> bool {
        matches!(self, Taint::BadPage | Taint::Die)
    }
}

/// print_tainted() for a taint mask: "Not tainted" for 0, otherwise "Tainted: " and one
/// character per flag of taint_flags[].
pub fn print_tainted(mask: u32) -> String {
    if mask == 0 {
        return "Not tainted".to_string();
    }
    let mut s = String::with_capacity(9 + TAINT_FLAGS.len());
    s.push_str("Tainted: ");
    for (bit, &(set, clear)) in TAINT_FLAGS.iter().enumerate() {
        s.push(if mask & (1 << bit) != 0 { set } else { clear });
    }
    s
}

/// The line add_taint() prints when a LOCKDEP_NOW_UNRELIABLE taint turns lock debugging off.
pub const DISABLING_LOCK_DEBUGGING: &str = "Disabling lock debugging due to kernel taint";

/// The kernel log (dmesg): every line printed, reports and warnings alike, plus the reports
/// raised since the caller last took them, and the kernel's taint state.
#[derive(Clone, Debug)]
pub struct KernelLog {
    lines: Vec<String>,
    pending: Vec<Report>,
    /// Warnings (not misuse reports) printed since last taken, e.g. page allocation failures.
    pending_warnings: Vec<String>,
    /// tainted_mask: one bit per [`Taint`].
    taint_mask: u32,
    /// Whether debug_locks has been turned off (it starts on).
    debug_locks_off: bool,
    /// Whether lines are kept; a fuzzing loop that never reads dmesg turns this off.
    keep_lines: bool,
    /// Whether reports and warnings are given their texts; a fuzzing loop that compares only
    /// their kinds turns this off, and every site that prints then skips formatting (it
    /// still does what printing does to the kernel's state: taints, die counter, once and
    /// rate-limit state).
    texts: bool,
    /// arch/x86/kernel/dumpstack.c's die_counter: how many oops headers have been printed.
    die_counter: u32,
    /// jiffies on the model's clock: the index of the statement running (HZ is 1: one
    /// statement is one second).
    jiffies: u64,
    /// The once-only print sites (WARN_ON_ONCE, WARN_ONCE, pr_*_once) that have printed.
    once: BTreeSet<String>,
    /// Each rate limit's state (struct ratelimit_state), by its name.
    ratelimits: BTreeMap<&'static str, RatelimitState>,
    /// Reports raised and not printed since last taken.
    pending_silenced: Vec<Silenced>,
    /// How many of the pending warnings are warn_alloc()'s (the allocation-failure warning
    /// whose every print the oracle judges).
    pending_warn_alloc: u32,
    /// How many of the pending warnings are slab_out_of_memory()'s ("SLUB: Unable to
    /// allocate memory"), which the oracle judges too.
    pending_slab_oom: u32,
    /// False while all three pending lists are empty: the test a caller makes after every
    /// call, kept as a flag because a length test costs a comparison callback under fuzzing.
    any_pending: bool,
}

/// struct ratelimit_state: the window's start and what it printed and held back.
#[derive(Clone, Copy, Debug, Default)]
struct RatelimitState {
    begin: Option<u64>,
    printed: u64,
    missed: u64,
}

/// What a rate limit lets through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ratelimit {
    /// Print; `missed` reports were held back in the window that just ended (Linux then
    /// prints "%s: %d callbacks suppressed" first).
    Print { missed: u64 },
    /// Hold this one back.
    Suppress,
}

/// A log that keeps lines and texts, as [`KernelLog::new`].
impl Default for KernelLog {
    fn default() -> Self {
        Self::new()
    }
}

impl KernelLog {
    pub fn new() -> Self {
        KernelLog {
            lines: Vec::new(),
            pending: Vec::new(),
            pending_warnings: Vec::new(),
            taint_mask: 0,
            debug_locks_off: false,
            keep_lines: true,
            texts: true,
            die_counter: 0,
            jiffies: 0,
            once: BTreeSet::new(),
            ratelimits: BTreeMap::new(),
            pending_silenced: Vec::new(),
            pending_warn_alloc: 0,
            pending_slab_oom: 0,
            any_pending: false,
        }
    }

    /// Keep or drop the text of dmesg (reports are always kept until taken).
    pub fn set_keep_lines(&mut self, keep: bool) {
        self.keep_lines = keep;
    }

    /// Give reports and warnings their texts, or leave them empty (for a caller that reads
    /// only their kinds, with [`Self::set_keep_lines`] off too: dmesg would have nothing).
    pub fn set_texts(&mut self, texts: bool) {
        self.texts = texts;
    }

    /// Whether report and warning texts are wanted: a print site formats its text only then.
    #[inline]
    pub fn texts(&self) -> bool {
        self.texts
    }

    /// A report that taints nothing (or whose taint its caller adds with [`Self::add_taint`]).
    pub fn report(&mut self, kind: ReportKind, text: String) {
        self.push_report(Report {
            kind,
            text,
            site: None,
        });
    }

    /// A report gathered elsewhere (SLUB's, pushed when its operation ends).
    pub fn push_report(&mut self, r: Report) {
        if self.keep_lines {
            self.lines.extend(r.text.lines().map(String::from));
        }
        self.pending.push(r);
        self.any_pending = true;
    }

    /// A report, then add_taint(flag) as the kernel calls it after the report's last line:
    /// the report's own header shows the taint from before, and the line add_taint() may
    /// print ends the report.
    pub fn report_tainting(&mut self, kind: ReportKind, text: String, flag: Taint) {
        self.report_tainting_at(kind, text, flag, None);
    }

    /// [`Self::report_tainting`] for a report a WARN() printed: `site` is its `file:line`.
    pub fn report_tainting_at(
        &mut self,
        kind: ReportKind,
        mut text: String,
        flag: Taint,
        site: Option<String>,
    ) {
        self.add_taint(flag, &mut text);
        self.push_report(Report { kind, text, site });
    }

    /// A warning: printed, but not a misuse report (e.g. "page allocation failure", which
    /// does not taint).
    pub fn warn(&mut self, text: String) {
        if self.keep_lines {
            self.lines.extend(text.lines().map(String::from));
        }
        self.pending_warnings.push(text);
        self.any_pending = true;
    }

    /// warn_alloc()'s warning: printed as [`Self::warn`], and counted for
    /// [`Self::take_warn_alloc`].
    pub fn warn_alloc(&mut self, text: String) {
        self.pending_warn_alloc = self.pending_warn_alloc.saturating_add(1);
        self.warn(text);
    }

    /// How many of the pending warnings are warn_alloc()'s (it takes none of them).
    pub fn take_warn_alloc(&mut self) -> u32 {
        std::mem::take(&mut self.pending_warn_alloc)
    }

    /// slab_out_of_memory()'s lines: printed as [`Self::warn`], and counted for
    /// [`Self::take_slab_oom`].
    pub fn slab_oom(&mut self, text: String) {
        self.pending_slab_oom = self.pending_slab_oom.saturating_add(1);
        self.warn(text);
    }

    /// How many of the pending warnings are slab_out_of_memory()'s (it takes none of them).
    pub fn take_slab_oom(&mut self) -> u32 {
        std::mem::take(&mut self.pending_slab_oom)
    }

    /// A warning that taints: a WARN() (TAINT_WARN, added by __warn() after its text).
    pub fn warn_tainting(&mut self, mut text: String, flag: Taint) {
        self.add_taint(flag, &mut text);
        self.warn(text);
    }

    /// A plain informational line.
    pub fn info(&mut self, line: String) {
        if self.keep_lines {
            self.lines.push(line);
        }
    }

    pub fn take_reports(&mut self) -> Vec<Report> {
        let r = std::mem::take(&mut self.pending);
        self.update_any_pending();
        r
    }

    /// The warnings printed since the last call (warn_alloc()'s among them: their count,
    /// when wanted, is taken first).
    pub fn take_warnings(&mut self) -> Vec<String> {
        self.pending_warn_alloc = 0;
        self.pending_slab_oom = 0;
        let w = std::mem::take(&mut self.pending_warnings);
        self.update_any_pending();
        w
    }

    /// Whether anything (a report, a warning, a silenced report) is waiting to be taken.
    pub fn has_pending(&self) -> bool {
        self.any_pending
    }

    fn update_any_pending(&mut self) {
        self.any_pending =
            (self.pending.len() | self.pending_warnings.len() | self.pending_silenced.len()) != 0;
    }

    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    pub fn dmesg(&self) -> String {
        let mut s = self.lines.join("\n");
        if !s.is_empty() {
            s.push('\n');
        }
        s
    }

    /// add_taint(flag, lockdep_ok) at the end of `printed`, the text printed so far (not yet
    /// logged): with LOCKDEP_NOW_UNRELIABLE, the first time it turns lock debugging off it
    /// prints "Disabling lock debugging due to kernel taint", appended to `printed`. TAINT_DIE
    /// comes from oops_end(), whose oops_begin() -> oops_enter() already turned lock
    /// debugging off silently, so an oops never prints that line.
    pub fn add_taint(&mut self, flag: Taint, printed: &mut String) {
        if flag == Taint::Die {
            self.debug_locks_off();
        }
        if flag.lockdep_now_unreliable() && self.debug_locks_off() {
            if !printed.is_empty() {
                printed.push('\n');
            }
            printed.push_str(DISABLING_LOCK_DEBUGGING);
        }
        self.taint_mask |= flag.mask();
    }

    /// debug_locks_off(): turns lock debugging off, silently; returns whether it was on.
    /// (oops_enter(), DEBUG_SPINLOCK's spin_bug() and DEBUG_LOCKS_WARN_ON() call it.)
    pub fn debug_locks_off(&mut self) -> bool {
        !std::mem::replace(&mut self.debug_locks_off, true)
    }

    /// Whether lock debugging is still on (debug_locks).
    pub fn debug_locks(&self) -> bool {
        !self.debug_locks_off
    }

    /// get_taint(): the taint mask, one bit per [`Taint`].
    pub fn taints(&self) -> u32 {
        self.taint_mask
    }

    /// test_taint().
    pub fn test_taint(&self, flag: Taint) -> bool {
        self.taint_mask & flag.mask() != 0
    }

    /// print_tainted() for the current taint state.
    pub fn taint_str(&self) -> String {
        print_tainted(self.taint_mask)
    }

    /// `++die_counter`, as __die_header() takes it for every oops header it prints (page
    /// faults, BUG()'s "invalid opcode", general protection faults): the number in `[#N]`.
    pub fn next_die_counter(&mut self) -> u32 {
        self.die_counter = self.die_counter.saturating_add(1);
        self.die_counter
    }

    /// How many oops headers have been printed.
    pub fn die_counter(&self) -> u32 {
        self.die_counter
    }

    /// Sets jiffies (the statement about to run, on the model's clock).
    pub fn set_jiffies(&mut self, jiffies: u64) {
        self.jiffies = jiffies;
    }

    pub fn jiffies(&self) -> u64 {
        self.jiffies
    }

    /// A once-only print at `site`: true the first time (print it), false after.
    pub fn once(&mut self, site: &str) -> bool {
        self.once.insert(site.to_string())
    }

    /// ___ratelimit() (lib/ratelimit.c) for the rate limit `name`: `burst` prints per
    /// `interval` jiffies, the window starting at the first call after the last one ended.
    pub fn ratelimit(&mut self, name: &'static str, interval: u64, burst: u64) -> Ratelimit {
        let now = self.jiffies;
        let rs = self.ratelimits.entry(name).or_default();
        let begin = *rs.begin.get_or_insert(now);
        let mut missed = 0;
        // time_is_before_jiffies(begin + interval): the window has passed.
        if now > begin + interval {
            missed = std::mem::take(&mut rs.missed);
            rs.begin = Some(now);
            rs.printed = 0;
        }
        if rs.printed < burst {
            rs.printed += 1;
            Ratelimit::Print { missed }
        } else {
            rs.missed += 1;
            Ratelimit::Suppress
        }
    }

    /// A report the kernel's check raised but did not print.
    pub fn silence(&mut self, kind: ReportKind, site: &str, why: Silence) {
        self.any_pending = true;
        self.pending_silenced.push(Silenced {
            kind,
            site: site.to_string(),
            why,
        });
    }

    pub fn take_silenced(&mut self) -> Vec<Silenced> {
        let s = std::mem::take(&mut self.pending_silenced);
        self.update_any_pending();
        s
    }
}

/// __die_header()'s line (arch/x86/kernel/dumpstack.c, 6.6): `"%s: %04lx [#%d]%s%s%s%s%s"`
/// with the trap's name, the error code's low 16 bits and the die counter, then the
/// configuration: " PREEMPT" (CONFIG_PREEMPTION), " SMP", " DEBUG_PAGEALLOC" while
/// debug_pagealloc is on; the model's kernel has no KASAN and no PAGE_TABLE_ISOLATION, so
/// neither " KASAN" nor " PTI"/" NOPTI" follows. (6.10 added an "Oops: " prefix; 6.6 has none.)
pub fn die_header_line(what: &str, err: u64, counter: u32, debug_pagealloc: bool) -> String {
    format!(
        "{what}: {:04x} [#{counter}] PREEMPT SMP{}",
        err & 0xffff,
        if debug_pagealloc {
            " DEBUG_PAGEALLOC"
        } else {
            ""
        }
    )
}

/// print_hex_dump(level, prefix, DUMP_PREFIX_ADDRESS, 16, 1, buf, len, true) (lib/hexdump.c):
/// one line per 16 bytes from `addr` on (the last one shorter), each `"%s%p: %s"` with the
/// prefix, the row's address (raw, `ptr_width` hex digits) and hex_dump_to_buffer()'s text:
/// the bytes as "%02x" separated by single spaces, padded with spaces to the ASCII column
/// (rowsize * 2 + rowsize / groupsize + 1 = 49), then each byte as itself when it is
/// printable ASCII (0x20..=0x7e) and as '.' otherwise.
pub fn hex_dump_lines(prefix: &str, addr: u64, ptr_width: usize, buf: &[u8]) -> Vec<String> {
    use std::fmt::Write;
    const ROWSIZE: usize = 16;
    const ASCII_COLUMN: usize = ROWSIZE * 2 + ROWSIZE + 1;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Each row's columns are filled in a fixed buffer and added at once (reports over whole
    // pages and large objects print thousands of rows; their formatting byte by byte was
    // most of what such a report cost).
    buf.chunks(ROWSIZE)
        .enumerate()
        .map(|(i, row)| {
            // "xx " per byte, spaces up to the ASCII column, then the characters.
            let mut cols = [b' '; ASCII_COLUMN + ROWSIZE];
            for (dst, &b) in cols.chunks_exact_mut(3).zip(row) {
                dst[0] = HEX[usize::from(b >> 4)];
                dst[1] = HEX[usize::from(b & 15)];
            }
            for (dst, &b) in cols[ASCII_COLUMN..].iter_mut().zip(row) {
                *dst = if (0x20..0x7f).contains(&b) { b } else { b'.' };
            }
            let cols = &cols[..ASCII_COLUMN + row.len()];
            let mut line =
                String::with_capacity(prefix.len() + ptr_width + 2 + ASCII_COLUMN + ROWSIZE);
            line.push_str(prefix);
            // Writing to a String cannot fail.
            let _ = write!(
                line,
                "{:0ptr_width$x}: ",
                addr.wrapping_add((i * ROWSIZE) as u64)
            );
            // Only ASCII was written, so the conversion cannot fail.
            line.push_str(std::str::from_utf8(cols).unwrap_or_default());
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn print_tainted_has_one_column_per_flag() {
        assert_eq!(print_tainted(0), "Not tainted");
        assert_eq!(
            print_tainted(Taint::BadPage.mask()),
            "Tainted: G    B             "
        );
        assert_eq!(
            print_tainted(Taint::Warn.mask()),
            "Tainted: G        W         "
        );
        assert_eq!(
            print_tainted(Taint::BadPage.mask() | Taint::Warn.mask()),
            "Tainted: G    B   W         "
        );
        assert_eq!(
            print_tainted(Taint::BadPage.mask() | Taint::Die.mask() | Taint::Warn.mask()),
            "Tainted: G    B D W         "
        );
        assert_eq!(print_tainted(Taint::ProprietaryModule.mask()).len(), 9 + 19);
    }

    #[test]
    fn ratelimit_lets_a_burst_through_per_interval_and_counts_the_rest() {
        let mut log = KernelLog::new();
        let mut got = Vec::new();
        for (t, calls) in [(1, 3), (2, 2), (6, 1), (7, 2)] {
            log.set_jiffies(t);
            for _ in 0..calls {
                got.push(log.ratelimit("t", 5, 4));
            }
        }
        use Ratelimit::*;
        assert_eq!(
            got,
            [
                Print { missed: 0 },
                Print { missed: 0 },
                Print { missed: 0 },
                Print { missed: 0 },
                Suppress,
                Suppress,
                Print { missed: 2 },
                Print { missed: 0 }
            ]
        );
        assert!(log.once("a:1") && !log.once("a:1") && log.once("a:2"));
    }

    #[test]
    fn add_taint_prints_its_line_once_and_not_after_an_oops() {
        let mut log = KernelLog::new();
        let mut t = String::from("report");
        log.add_taint(Taint::Warn, &mut t);
        assert_eq!(t, "report");
        log.add_taint(Taint::BadPage, &mut t);
        assert_eq!(t, format!("report\n{DISABLING_LOCK_DEBUGGING}"));
        let mut t2 = String::from("again");
        log.add_taint(Taint::BadPage, &mut t2);
        assert_eq!(t2, "again");

        let mut log = KernelLog::new();
        let mut t = String::from("Oops");
        log.add_taint(Taint::Die, &mut t);
        assert_eq!(t, "Oops");
        assert!(!log.debug_locks());
        let mut t = String::from("BUG");
        log.add_taint(Taint::BadPage, &mut t);
        assert_eq!(t, "BUG");
        assert_eq!(log.taint_str(), "Tainted: G    B D           ");
    }

    /// The row format, computed the slow way (per-byte `format!`), for comparison.
    fn reference_hex_dump(prefix: &str, addr: u64, w: usize, buf: &[u8]) -> Vec<String> {
        buf.chunks(16)
            .enumerate()
            .map(|(i, row)| {
                let hex: Vec<String> = row.iter().map(|b| format!("{b:02x}")).collect();
                let ascii: String = row
                    .iter()
                    .map(|&b| {
                        if (0x20..0x7f).contains(&b) {
                            b as char
                        } else {
                            '.'
                        }
                    })
                    .collect();
                format!(
                    "{prefix}{:0w$x}: {:<49}{ascii}",
                    addr.wrapping_add((i * 16) as u64),
                    hex.join(" ")
                )
            })
            .collect()
    }

    #[test]
    fn hex_dump_rows_match_print_hex_dump() {
        let bytes: Vec<u8> = (0..=255u8).chain(b"Hello, kmem!".iter().copied()).collect();
        for len in [0usize, 1, 15, 16, 17, 31, 200, bytes.len()] {
            for (prefix, addr, w) in [("", 0xc1000000u64, 8), ("Object ", u64::MAX - 20, 16)] {
                assert_eq!(
                    hex_dump_lines(prefix, addr, w, &bytes[..len]),
                    reference_hex_dump(prefix, addr, w, &bytes[..len]),
                    "len {len}"
                );
            }
        }
        assert_eq!(
            hex_dump_lines("", 0xc1234560, 8, b"\xaa\xaaAB"),
            vec!["c1234560: aa aa 41 42                                      ..AB".to_string()]
        );
    }
}
