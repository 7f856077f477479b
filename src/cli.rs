//! The command line: subcommands and options (clap), and how every run ends. Bad input is
//! one line on stderr and exit status 2; a failed verdict is exit status 1; a closed pipe
//! ends quietly with 141.

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::out::{Fail, Out, Outcome};
use crate::{campaign, encode, functions, layout, reduce, replay, show, stress};

const AFTER_HELP: &str = "\
Exit status: 0 when every verdict is pass, 1 when any is fail, 2 on bad input (then one
line on stderr, FILE:LINE:COL where it applies) or when standard output cannot be written,
141 when the reader of standard output went away.";

/// Differential fuzzer and executable model of the Linux kernel's memory allocators.
#[derive(Parser, Debug)]
#[command(name = "kmemfuzz", version, after_help = AFTER_HELP)]
#[command(propagate_version = true, disable_help_subcommand = false)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run scenarios (.kmem) on the model with the oracle beside it and print the verdicts.
    #[command(
        long_about = "Run each scenario (.kmem) on a freshly booted machine with the reference oracle
beside it. Prints the boot line with its defaults, every statement with its value,
the kernel's reports under the statement that raised them, the bytes each `read`
returned, what the client did wrong and where the kernel caught it, then the
verdict; several files end with `N passed, M failed`. Every input is parsed before
any runs.",
        after_help = "Examples:\n  kmemfuzz replay corpus/regressions/page-double-free.kmem\n  \
                      kmemfuzz replay --json corpus/regressions/*.kmem\n  \
                      echo 'p = kmalloc 8 GFP_KERNEL' | kmemfuzz replay -"
    )]
    Replay(ReplayArgs),
    /// Print a raw fuzzer input as the scenario it decodes to.
    #[command(
        long_about = "Print a raw fuzzer input (a file of bytes from a corpus or a crash) as the
scenario its target decodes it to. The target is --target, or the name of the folder
that directly holds the input (corpus/slab/x, fuzz/artifacts/kmalloc/crash-x). A .kmem
scenario text is no fuzzer input: replay it.",
        after_help = "Example:\n  kmemfuzz show fuzz/artifacts/slab/crash-0123abcd"
    )]
    Show(ShowArgs),
    /// Turn a scenario (.kmem) into the fuzzer input a target decodes to it: show's inverse.
    #[command(
        long_about = "Turn a scenario (.kmem) into the raw fuzzer input that the target's generator
decodes to it, so that a hand-written scenario seeds the target's corpus and mutates like
any other input. `kmemfuzz show` of the bytes prints the scenario back, with the
generator's names (k0, p3, cache5...) for the scenario's own: the two are the same up to
renaming. A scenario the target's generator cannot write (a function the target does not
call, a boot line or an operand it never draws, a section left open) is refused with the
line and column of the first statement it cannot write, and why (exit 2).",
        after_help = "Examples:\n  kmemfuzz encode corpus/regressions/slab-double-free.kmem --target slab -o seed\n  \
                      kmemfuzz encode my.kmem --target kernel | kmemfuzz show --target kernel -"
    )]
    Encode(EncodeArgs),
    /// Boot a machine and print its memory layout, /proc/buddyinfo and /proc/meminfo.
    #[command(after_help = "Example:\n  kmemfuzz layout arch=x86_64 mem=1G")]
    Layout(LayoutArgs),
    /// Run seeded random scenarios through the checker in-process and report ops/s.
    Stress(StressArgs),
    /// List every scenario function, GFP flag, slab flag, boot key and report kind.
    Functions(FunctionsArgs),
    /// Shrink a failing scenario while it fails the same way, and print it.
    #[command(
        long_about = "Shrink a failing scenario (.kmem) by meaning: the statements after the first
failure, then statements by delta debugging (a statement goes with the one that bound
its names), boot options back to their defaults, then operands (smaller sizes and
orders, no alignment, fewer GFP and SLAB flags, no constructor, offsets toward 0, fewer
vmap pages), unused bindings, long names. A change is kept only while the failure
signature stays the same: the set of failure kinds, and the first failing statement's
function. Prints the reduced scenario, and one line about it on stderr. A scenario
that passes is refused (exit 2).",
        after_help = "Example:\n  kmemfuzz reduce corpus/regressions/buddy-0123abcd.kmem -o small.kmem"
    )]
    Reduce(ReduceArgs),
    /// The record, report and comparison of scripts/fuzz campaigns.
    #[command(
        after_help = "Examples:\n  kmemfuzz campaign report fuzz/campaigns/latest\n  \
                      kmemfuzz campaign compare /tmp/before fuzz/campaigns/latest"
    )]
    Campaign(CampaignArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Example:\n  kmemfuzz completions bash > ~/.local/share/bash-completion/completions/kmemfuzz"
    )]
    Completions(CompletionsArgs),
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// Scenario files; `-` reads one from standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// One JSON object per file on one line each (docs/scenario.md gives the schema); parse errors
    /// are JSON objects too.
    #[arg(long)]
    pub json: bool,
    /// Run kernel scenarios with this frame engine beneath the zones (docs/engines.md):
    /// kmem-buddy, buddy_system_allocator-frame or bitmap-allocator.
    #[arg(long, value_name = "NAME")]
    pub engine: Option<String>,
}

/// A fuzz target: which allocators its inputs drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Target {
    Buddy,
    Slab,
    Kmalloc,
    Mempool,
    Vmalloc,
    Kmap,
    Kernel,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Buddy => "buddy",
            Target::Slab => "slab",
            Target::Kmalloc => "kmalloc",
            Target::Mempool => "mempool",
            Target::Vmalloc => "vmalloc",
            Target::Kmap => "kmap",
            Target::Kernel => "kernel",
        }
    }

    pub fn from_name(s: &str) -> Option<Target> {
        Target::value_variants()
            .iter()
            .copied()
            .find(|t| t.name() == s)
    }
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// A raw fuzzer input (not a .kmem text: replay that).
    #[arg(value_name = "FILE")]
    pub file: String,
    /// The target whose decoder reads the input (default: the folder holding FILE).
    #[arg(long, value_name = "NAME")]
    pub target: Option<Target>,
}

#[derive(Args, Debug)]
pub struct EncodeArgs {
    /// A scenario text (`-` reads it from standard input).
    #[arg(value_name = "FILE")]
    pub file: String,
    /// The target whose generator the input is for.
    #[arg(long, value_name = "NAME")]
    pub target: Target,
    /// Write the input to OUT instead of standard output.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<String>,
    /// Run the generator at most this many times in the search for one statement (the
    /// whole scenario: ten times that).
    #[arg(long, value_name = "TRIALS", default_value = "100000", value_parser = number)]
    pub budget: u64,
}

#[derive(Args, Debug)]
pub struct LayoutArgs {
    /// Boot options as on a scenario's boot line, e.g. arch=x86_64 mem=1G slub_debug=FZ
    /// (see kmemfuzz functions).
    #[arg(value_name = "OPTION=VALUE")]
    pub options: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OracleMode {
    /// Model and oracle together.
    On,
    /// The model alone (the baseline).
    Off,
    /// Both, and the oracle's overhead.
    Both,
}

#[derive(Args, Debug)]
pub struct StressArgs {
    /// The fuzz target whose generator makes the scenarios.
    #[arg(long, value_name = "NAME", default_value = "buddy")]
    pub target: Target,
    /// The seed of the byte source (decimal or 0x hex).
    #[arg(long, value_name = "N", default_value = "1", value_parser = number)]
    pub seed: u64,
    /// How many scenarios each job runs (decimal or 0x hex); 2000 unless --time is given.
    #[arg(long, value_name = "N", value_parser = number)]
    pub iters: Option<u64>,
    /// Stop after this many seconds (with --iters, whichever comes first).
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    pub time: Option<f64>,
    /// Run N jobs side by side, one thread each; job J uses seed SEED + J.
    #[arg(long, value_name = "N", default_value = "1", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub jobs: u64,
    /// Where every failing scenario is written, one .kmem file each (made when the first
    /// one fails).
    #[arg(long, value_name = "DIR", default_value = "stress-failures")]
    pub out: String,
    /// Print a progress line on stderr every SECONDS (0: never).
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = seconds)]
    pub progress: f64,
    /// Run the model with the oracle, alone, or both ways.
    #[arg(long, value_name = "MODE", default_value = "both")]
    pub oracle: OracleMode,
}

#[derive(Args, Debug)]
pub struct FunctionsArgs {
    /// Markdown tables (docs/functions.md is this output).
    #[arg(long)]
    pub markdown: bool,
}

#[derive(Args, Debug)]
pub struct ReduceArgs {
    /// A failing scenario (`-` reads it from standard input).
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Write the reduced scenario to OUT instead of standard output.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<String>,
    /// Run the checker at most this many times.
    #[arg(long, value_name = "CHECKS", default_value = "20000", value_parser = number)]
    pub budget: u64,
}

#[derive(Args, Debug)]
pub struct CampaignArgs {
    #[command(subcommand)]
    pub command: CampaignCommand,
}

#[derive(Subcommand, Debug)]
pub enum CampaignCommand {
    /// Write DIR/campaign.json from the raw files scripts/fuzz leaves in DIR.
    Record {
        #[arg(value_name = "DIR")]
        dir: String,
    },
    /// Write report.md, summary.md, coverage.svg and exec-rate.svg into DIR.
    Report {
        #[arg(value_name = "DIR")]
        dir: String,
    },
    /// Compare two campaigns target by target (directories or campaign.json files).
    Compare {
        #[arg(value_name = "OLD")]
        old: String,
        #[arg(value_name = "NEW")]
        new: String,
    },
    /// Write OUT/campaign.json: campaigns run side by side (one target each) as one.
    Merge {
        #[arg(value_name = "OUT")]
        out: String,
        #[arg(value_name = "CAMPAIGN", required = true)]
        campaigns: Vec<String>,
    },
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

fn seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && (0.0..=1e9).contains(&x) => Ok(x),
        _ => Err("expected a number of seconds, 0 or more".into()),
    }
}

fn number(s: &str) -> Result<u64, String> {
    kmem::config::parse_number(s).ok_or_else(|| "expected a decimal or 0x hex number".into())
}

/// Runs the command line `args` (without the program name) and returns the exit status.
pub fn main(args: Vec<String>) -> i32 {
    let sub = subcommand_of(&args);
    let argv = std::iter::once("kmemfuzz".to_string()).chain(args);
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => return clap_error(e, sub),
    };
    let mut out = Out::stdout();
    let result = run(cli.command, &mut out).and_then(|code| out.finish().map(|()| code));
    match result {
        Ok(code) => code,
        Err(f) => f.report(),
    }
}

fn run(cmd: Command, out: &mut Out) -> Outcome {
    match cmd {
        Command::Replay(a) => replay::command(&a, out),
        Command::Show(a) => show::command(&a, out),
        Command::Encode(a) => encode::command(&a, out),
        Command::Layout(a) => layout::command(&a, out),
        Command::Stress(a) => stress::command(&a, out),
        Command::Functions(a) => functions::command(&a, out),
        Command::Reduce(a) => reduce::command(&a, out),
        Command::Campaign(a) => campaign::command(&a, out),
        Command::Completions(a) => {
            let mut buf = Vec::new();
            clap_complete::generate(a.shell, &mut Cli::command(), "kmemfuzz", &mut buf);
            out.put(&String::from_utf8_lossy(&buf))?;
            Ok(0)
        }
    }
}

/// Help and version go to stdout (exit 0); a usage error is one line on stderr with clap's
/// suggestion, exit 2.
fn clap_error(e: clap::Error, sub: Option<String>) -> i32 {
    use clap::error::ErrorKind as K;
    match e.kind() {
        K::DisplayHelp | K::DisplayVersion => {
            let mut out = Out::stdout();
            match out.put(&e.render().to_string()).and_then(|()| out.finish()) {
                Ok(()) => 0,
                Err(f) => f.report(),
            }
        }
        K::DisplayHelpOnMissingArgumentOrSubcommand | K::MissingSubcommand => {
            let names: Vec<String> = Cli::command()
                .get_subcommands()
                .map(|c| c.get_name().to_string())
                .collect();
            Fail::usage(format!(
                "a command is needed: {} (see kmemfuzz --help)",
                names.join(", ")
            ))
            .report()
        }
        _ => Fail::Usage(one_line(&e.render().to_string(), sub.as_deref())).report(),
    }
}

/// clap's error (several lines: the error, tips, usage) as one line: the error, its tips,
/// and where help is.
pub fn one_line(text: &str, sub: Option<&str>) -> String {
    let mut msg = String::new();
    // The error's own lines run to the first blank line (e.g. the missing arguments).
    let mut in_error = false;
    for raw in text.lines() {
        let l = raw.trim();
        if l.is_empty() {
            in_error = false;
            continue;
        }
        if let Some(m) = l.strip_prefix("error: ") {
            msg.push_str(m.trim_end_matches(':'));
            in_error = true;
        } else if in_error && !l.starts_with("tip: ") && !l.starts_with('[') {
            msg.push_str(&format!(": {l}"));
        } else if let Some(t) = l.strip_prefix("tip: ") {
            msg.push_str(&format!("; {t}"));
        } else if l.starts_with("[possible values:") {
            msg.push_str(&format!(" {l}"));
        }
    }
    match sub {
        Some(sub) => format!("{msg} (see kmemfuzz {sub} --help)"),
        None => format!("{msg} (see kmemfuzz --help)"),
    }
}

/// The subcommand the arguments name, if any (the first word that is one).
fn subcommand_of(args: &[String]) -> Option<String> {
    let cmd = Cli::command();
    args.iter()
        .find(|a| !a.starts_with('-'))
        .filter(|a| cmd.find_subcommand(a.as_str()).is_some())
        .cloned()
}
