//! `kmemfuzz functions`: everything a scenario can name, generated from the tables the
//! parser and the model use (the scenario functions, GFP_NAMES, SLAB_FLAG_NAMES, BOOT_KEYS,
//! ReportKind::ALL), as text or as the Markdown page docs/functions.md.

use kmem::gfp::GFP_NAMES;
use kmem::slab_flags::SLAB_FLAG_NAMES;
use kmem::{ReportKind, BOOT_KEYS};
use kmem_oracle::model::{FailureKind, MisuseKind};
use kmem_oracle::{Family, OpKind, Ret};

use crate::cli::FunctionsArgs;
use crate::out::{Out, Outcome};

/// One table of the listing.
pub struct Section {
    pub title: &'static str,
    pub intro: &'static str,
    pub header: &'static [&'static str],
    pub rows: Vec<Vec<String>>,
}

pub fn command(a: &FunctionsArgs, out: &mut Out) -> Outcome {
    let s = sections();
    out.put(&if a.markdown { markdown(&s) } else { text(&s) })?;
    Ok(0)
}

/// What a name bound to a function's result holds.
fn ret_name(r: Ret) -> &'static str {
    match r {
        Ret::Nothing => "-",
        Ret::Page => "a struct page *",
        Ret::Addr => "an address",
        Ret::Phys => "a physical address",
        Ret::Cache => "a struct kmem_cache *",
        Ret::Pool => "a mempool_t *",
        Ret::Value => "a number",
    }
}

/// The single-bit flags a composite is made of, `|`-joined ("" for one bit).
fn gfp_bits(value: u32) -> String {
    if value.count_ones() <= 1 {
        return match GFP_NAMES
            .iter()
            .find(|&&(n, v)| v == value && n.starts_with("__GFP_"))
        {
            Some(&(n, _)) if value != 0 => n.to_string(),
            _ => String::new(),
        };
    }
    (0..32)
        .map(|b| 1u32 << b)
        .filter(|&bit| value & bit != 0)
        .filter_map(|bit| {
            GFP_NAMES
                .iter()
                .find(|&&(n, v)| v == bit && n.starts_with("__GFP_"))
                .map(|&(n, _)| n)
        })
        .collect::<Vec<_>>()
        .join("|")
}

pub fn report_meaning(k: ReportKind) -> &'static str {
    match k {
        ReportKind::RedzoneOverwritten => {
            "SLUB: a red zone beside an object was overwritten (slub_debug=Z)"
        }
        ReportKind::PoisonOverwritten => {
            "SLUB: a free object's poison was overwritten, a use after free (slub_debug=P)"
        }
        ReportKind::PaddingOverwritten => {
            "SLUB: the padding of a slot or slab was overwritten (slub_debug=P)"
        }
        ReportKind::FreepointerCorrupt => {
            "SLUB: a free pointer or free list no longer points into its slab"
        }
        ReportKind::PagePoisonOverwritten => {
            "a poisoned free page was written: pagealloc: memory corruption (page_poison=1)"
        }
        ReportKind::DoubleFree => "an object or page freed twice",
        ReportKind::InvalidFree => "a free of what is no allocation's start, or of the wrong order",
        ReportKind::ObjectsRemaining => {
            "kmem_cache_destroy() of a cache with objects still allocated"
        }
        ReportKind::PageFault => "an access to an unmapped address: the oops",
        ReportKind::BadPageState => {
            "BUG: Bad page state: a page freed in a state it must not be freed in"
        }
        ReportKind::SleepInAtomic => "BUG: sleeping function called from invalid context",
        ReportKind::BadVirtToPhys => {
            "virt_to_phys() of an address outside the direct map (debug_virtual=1)"
        }
        ReportKind::KmapMisuse => "kmap, kunmap or kmap_local used against their rules",
        ReportKind::ContextImbalance => "an unlock or enable without its lock or disable",
        ReportKind::WrongCache => "kmem_cache_free() to a cache the object does not belong to",
        ReportKind::MempoolMisuse => {
            "a pool or its cache destroyed with elements still out, or used after destroy"
        }
    }
}

/// The misuse kinds that are no report kind.
const ACCESS_MISUSE: [MisuseKind; 3] = [
    MisuseKind::UseAfterFree,
    MisuseKind::OutOfBounds,
    MisuseKind::WildAccess,
];

fn misuse_meaning(k: MisuseKind) -> &'static str {
    match k {
        MisuseKind::Report(r) => report_meaning(r),
        MisuseKind::UseAfterFree => "the client touched memory after freeing it",
        MisuseKind::OutOfBounds => "the client touched memory past the end of its allocation",
        MisuseKind::WildAccess => "the client touched memory it never owned",
    }
}

const FAILURES: [FailureKind; 15] = [
    FailureKind::Overlap,
    FailureKind::Misaligned,
    FailureKind::WrongZone,
    FailureKind::Content,
    FailureKind::NotZeroed,
    FailureKind::WrongTranslation,
    FailureKind::WrongValue,
    FailureKind::SpuriousFailure,
    FailureKind::Watermark,
    FailureKind::Buddyinfo,
    FailureKind::MissedReport,
    FailureKind::FalseReport,
    FailureKind::Fault,
    FailureKind::Panic,
    FailureKind::Warning,
];

fn failure_meaning(k: FailureKind) -> &'static str {
    match k {
        FailureKind::Overlap => "returned memory that overlaps a live allocation",
        FailureKind::Misaligned => "returned an address without the alignment the call requires",
        FailureKind::WrongZone => "returned a page from a zone the GFP mask does not allow",
        FailureKind::Content => "lost or changed bytes the client stored",
        FailureKind::NotZeroed => "returned memory that should read as zeros and does not",
        FailureKind::WrongTranslation => {
            "translated an address to the wrong page, or aliases disagree"
        }
        FailureKind::WrongValue => "returned another value the oracle can tell is wrong",
        FailureKind::SpuriousFailure => "returned NULL although Linux must have succeeded",
        FailureKind::Watermark => "allocated below the zone's watermark for that mask",
        FailureKind::Buddyinfo => "has free lists that differ from what /proc/buddyinfo must show",
        FailureKind::MissedReport => "did not report a misuse the enabled debug options must catch",
        FailureKind::FalseReport => "reported something without a misuse that calls for it",
        FailureKind::Fault => "faulted on an access that should have worked",
        FailureKind::Panic => "panicked (the model must never panic)",
        FailureKind::Warning => {
            "printed warn_alloc()'s warning or slab_out_of_memory()'s lines where Linux does not, or not where it must"
        }
    }
}

/// Every table, from the tables the parser and the model use.
pub fn sections() -> Vec<Section> {
    // The kernel's families, then the engine scenario's statements (docs/engines.md).
    let functions = Family::ALL
        .iter()
        .chain(&[Family::Engine])
        .flat_map(|&fam| OpKind::ALL.iter().filter(move |k| k.family() == fam))
        .map(|k| {
            vec![
                k.name().to_string(),
                k.usage().to_string(),
                ret_name(k.returns()).to_string(),
                k.family().name().to_string(),
            ]
        })
        .collect();
    let gfp = GFP_NAMES
        .iter()
        .map(|&(n, v)| {
            let bits = gfp_bits(v);
            vec![
                n.to_string(),
                format!("{v:#x}"),
                if bits == n { String::new() } else { bits },
            ]
        })
        .collect();
    let slab = SLAB_FLAG_NAMES
        .iter()
        .map(|&(n, v)| vec![n.to_string(), format!("{v:#x}")])
        .collect();
    let boot = BOOT_KEYS
        .iter()
        .map(|k| {
            vec![
                k.name.to_string(),
                k.values.to_string(),
                k.default.to_string(),
                k.meaning.to_string(),
            ]
        })
        .collect();
    let reports = ReportKind::ALL
        .iter()
        .map(|&k| vec![k.as_str().to_string(), report_meaning(k).to_string()])
        .collect();
    let misuse = ACCESS_MISUSE
        .iter()
        .map(|&k| vec![k.as_str().to_string(), misuse_meaning(k).to_string()])
        .collect();
    let failures = FAILURES
        .iter()
        .map(|&k| vec![k.as_str().to_string(), failure_meaning(k).to_string()])
        .collect();
    vec![
        Section {
            title: "Functions",
            intro: "`[name =] function operand...`, operands in Linux's order. A name bound to \
                    a function that returns nothing, or that returned NULL, holds 0.",
            header: &["function", "operands", "returns", "family"],
            rows: functions,
        },
        Section {
            title: "GFP flags",
            intro: "Joined with `|` (`GFP_KERNEL|__GFP_ZERO`); `0` is no flags. Values of \
                    Linux 6.6; composites with the bits they are made of.",
            header: &["flag", "value", "bits"],
            rows: gfp,
        },
        Section {
            title: "SLAB flags",
            intro: "The FLAGS operand of kmem_cache_create, joined with `|`; `0` is none.",
            header: &["flag", "value"],
            rows: slab,
        },
        Section {
            title: "Boot keys",
            intro: "`boot key=value ...`, the first statement if present.",
            header: &["key", "values", "default", "meaning"],
            rows: boot,
        },
        Section {
            title: "Report kinds",
            intro: "The stable `[kind]` of each kernel report (`reports[].kind` in --json).",
            header: &["kind", "what the kernel reports"],
            rows: reports,
        },
        Section {
            title: "Misuse kinds",
            intro: "`misuse[].kind` is a report kind, or one of these when an access did \
                    wrong and no report kind fits.",
            header: &["kind", "meaning"],
            rows: misuse,
        },
        Section {
            title: "Failure kinds",
            intro: "`failures[].kind`: why the oracle failed a step, as what the kernel did.",
            header: &["kind", "meaning"],
            rows: failures,
        },
    ]
}

/// Plain text: each table under its title, columns aligned.
pub fn text(sections: &[Section]) -> String {
    let mut s = String::new();
    for (i, sec) in sections.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(sec.title);
        s.push_str(":\n");
        let cols = sec.header.len();
        let width: Vec<usize> = (0..cols)
            .map(|c| {
                sec.rows
                    .iter()
                    .map(|r| r.get(c).map_or(0, |x| x.chars().count()))
                    .chain([sec.header[c].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let header: Vec<String> = sec.header.iter().map(|h| h.to_uppercase()).collect();
        for r in std::iter::once(&header).chain(&sec.rows) {
            let mut line = String::from("  ");
            for (c, cell) in r.iter().enumerate() {
                line.push_str(cell);
                if c + 1 < cols {
                    let pad = width[c].saturating_sub(cell.chars().count()) + 2;
                    line.push_str(&" ".repeat(pad));
                }
            }
            s.push_str(line.trim_end());
            s.push('\n');
        }
    }
    s
}

/// The Markdown page docs/functions.md.
pub fn markdown(sections: &[Section]) -> String {
    let mut s = String::from(
        "# Functions, flags, boot keys and kinds\n\n\
         Generated by `kmemfuzz functions --markdown` from the tables the parser and the \
         model use; a test fails when this page and the command differ. Regenerate with\n\
         `cargo run --bin kmemfuzz -- functions --markdown > docs/functions.md`.\n",
    );
    for sec in sections {
        s.push_str(&format!("\n## {}\n\n{}\n\n", sec.title, sec.intro));
        s.push_str(&format!("| {} |\n", sec.header.join(" | ")));
        s.push_str(&format!("|{}\n", "---|".repeat(sec.header.len())));
        for r in &sec.rows {
            let cells: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(c, x)| match (c, x.is_empty()) {
                    (_, true) => String::new(),
                    (0, _) => format!("`{x}`"),
                    _ => x.replace('|', "\\|").replace('*', "\\*"),
                })
                .collect();
            s.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
    }
    s
}
