//! The boot configuration: the scenario `boot` line, modelled on the kernel command line.

use std::fmt;

/// The architecture being modelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    /// 32-bit x86 with the 3G/1G split: PAGE_OFFSET 0xC0000000, highmem above 896 MiB.
    I386,
    /// x86_64 with 4-level paging: direct map at 0xffff888000000000, no highmem.
    X86_64,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::I386 => "i386",
            Arch::X86_64 => "x86_64",
        }
    }
}

/// `slub_debug=` letters. Each field is one letter of Linux's option.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlubDebug {
    /// `F`: SLAB_CONSISTENCY_CHECKS.
    pub consistency: bool,
    /// `Z`: SLAB_RED_ZONE.
    pub red_zone: bool,
    /// `P`: SLAB_POISON.
    pub poison: bool,
    /// `U`: SLAB_STORE_USER.
    pub store_user: bool,
}

impl SlubDebug {
    /// What `slub_debug` alone means: every check.
    pub const ALL: SlubDebug = SlubDebug {
        consistency: true,
        red_zone: true,
        poison: true,
        store_user: true,
    };

    /// Parses the letters after `slub_debug=`; upper or lower case, as Linux accepts.
    /// `-` (Linux's "switch all debugging off") gives no options.
    pub fn parse(letters: &str) -> Result<SlubDebug, String> {
        let mut d = SlubDebug::default();
        for c in letters.chars() {
            match c.to_ascii_uppercase() {
                'F' => d.consistency = true,
                'Z' => d.red_zone = true,
                'P' => d.poison = true,
                'U' => d.store_user = true,
                '-' => {}
                _ => {
                    return Err(format!(
                        "unknown slub_debug option '{c}' (expected letters of FZPU)"
                    ))
                }
            }
        }
        Ok(d)
    }

    /// The SLAB_* debug flags these letters add to every cache (kmem_cache_flags() and
    /// parse_slub_debug_flags() in mm/slub.c).
    pub fn slab_flags(self) -> crate::slab_flags::SlabFlags {
        use crate::slab_flags::*;
        let mut f = 0;
        if self.consistency {
            f |= SLAB_CONSISTENCY_CHECKS;
        }
        if self.red_zone {
            f |= SLAB_RED_ZONE;
        }
        if self.poison {
            f |= SLAB_POISON;
        }
        if self.store_user {
            f |= SLAB_STORE_USER;
        }
        f
    }

    pub fn letters(self) -> String {
        let mut s = String::new();
        for (on, c) in [
            (self.consistency, 'F'),
            (self.red_zone, 'Z'),
            (self.poison, 'P'),
            (self.store_user, 'U'),
        ] {
            if on {
                s.push(c);
            }
        }
        if s.is_empty() {
            s.push('-');
        }
        s
    }
}

/// The kernel version profile (`kernel=`): which release's layout formulas and limits the
/// machine follows. Only the syntax lives here; `kmem` and the oracle each derive the layout
/// of a profile by their own code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kernel {
    /// Linux 6.6: MAXMEM = VMALLOC_END - PAGE_OFFSET - __VMALLOC_RESERVE, VMALLOC_START =
    /// high_memory + VMALLOC_OFFSET, PKMAP_BASE below the LDT remap and the cpu_entry_area.
    #[default]
    V6_6,
    /// The classic i386 layout of Linux 2.6 (the textbooks' kernel): 896 MiB of lowmem,
    /// VMALLOC_START rounded to 8 MiB, and the 128 KiB kmalloc limit.
    V2_6,
}

impl Kernel {
    pub fn name(self) -> &'static str {
        match self {
            Kernel::V6_6 => "6.6",
            Kernel::V2_6 => "2.6",
        }
    }

    /// Parses a `kernel=` value: `6.6` or `2.6` (also `6`, `2.6.x`, `6.6.x`).
    pub fn parse(v: &str) -> Option<Kernel> {
        let base = |p: &str| v == p || v.strip_prefix(p).is_some_and(|r| r.starts_with('.'));
        if base("6.6") || v == "6" {
            Some(Kernel::V6_6)
        } else if base("2.6") {
            Some(Kernel::V2_6)
        } else {
            None
        }
    }

    /// The kmalloc limit this release has (KMALLOC_MAX_SIZE): what `kmalloc_max` is unless
    /// the boot line says otherwise.
    pub fn kmalloc_max(self) -> KmallocMax {
        match self {
            Kernel::V6_6 => KmallocMax::Current,
            Kernel::V2_6 => KmallocMax::Legacy,
        }
    }
}

/// The largest kmalloc size: today's 4 MiB (order 10 pages) or the 128 KiB of older kernels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KmallocMax {
    #[default]
    Current,
    /// KMALLOC_MAX_SIZE of 128 KiB, as in Linux 2.6 and the texts written about it.
    Legacy,
}

/// A machine's boot configuration. `Default` is the scenario default (i386, 128M, no debugging).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BootConfig {
    pub arch: Arch,
    /// Physical memory in bytes, a whole number of pages.
    pub mem: u64,
    /// `None` when `slub_debug` is absent.
    pub slub_debug: Option<SlubDebug>,
    pub page_poison: bool,
    pub debug_pagealloc: bool,
    pub debug_virtual: bool,
    pub kmalloc_max: KmallocMax,
    /// `kernel=`: the version profile (layout formulas, kmalloc limit).
    pub kernel: Kernel,
    /// `pae=1`: i386 with PAE (CONFIG_X86_PAE): 3-level page tables, 512 pkmap slots,
    /// physical memory up to 64 GiB.
    pub pae: bool,
}

impl Default for BootConfig {
    fn default() -> Self {
        BootConfig {
            arch: Arch::I386,
            mem: 128 << 20,
            slub_debug: None,
            page_poison: false,
            debug_pagealloc: false,
            debug_virtual: false,
            kmalloc_max: KmallocMax::Current,
            kernel: Kernel::V6_6,
            pae: false,
        }
    }
}

/// A configuration error: which key, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl std::error::Error for ConfigError {}

pub const MIN_MEM: u64 = 16 << 20;
pub const MAX_MEM_I386: u64 = 4 << 30;
/// With PAE, 36-bit physical addresses: 64 GiB (HIGHMEM64G).
pub const MAX_MEM_I386_PAE: u64 = 64 << 30;
pub const MAX_MEM_X86_64: u64 = 64 << 30;

/// Parses a number as the scenario format writes it: decimal or `0x` hex, optionally followed by
/// `K`, `M` or `G` (powers of 1024).
pub fn parse_size(s: &str) -> Option<u64> {
    let (digits, shift) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 10),
        b'M' | b'm' => (&s[..s.len() - 1], 20),
        b'G' | b'g' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    let v = parse_number(digits)?;
    v.checked_mul(1u64 << shift)
}

/// Decimal or `0x` hex, no suffix.
pub fn parse_number(s: &str) -> Option<u64> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        // from_str_radix would also take a sign: "0x+1" is no number.
        if hex.is_empty() || hex.len() > 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(hex, 16).ok()
    } else {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    }
}

/// Prints a byte count the way a person would write it on the boot line.
pub fn format_size(v: u64) -> String {
    for (shift, suffix) in [(30, "G"), (20, "M"), (10, "K")] {
        if v != 0 && v.is_multiple_of(1u64 << shift) {
            return format!("{}{}", v >> shift, suffix);
        }
    }
    v.to_string()
}

fn parse_bool01(key: &str, v: &str) -> Result<bool, ConfigError> {
    match v {
        "0" | "off" | "n" => Ok(false),
        "1" | "on" | "y" => Ok(true),
        _ => Err(ConfigError {
            key: key.into(),
            message: format!("expected 0 or 1, got '{v}'"),
        }),
    }
}

impl BootConfig {
    /// Applies one `key=value` (or bare `key`) of the boot line.
    pub fn set(&mut self, key: &str, value: Option<&str>) -> Result<(), ConfigError> {
        let err = |m: String| ConfigError {
            key: key.into(),
            message: m,
        };
        let need = || value.ok_or_else(|| err("needs a value".into()));
        match key {
            "arch" => {
                self.arch = match need()? {
                    "i386" | "x86" | "x86_32" => Arch::I386,
                    "x86_64" | "amd64" => Arch::X86_64,
                    v => return Err(err(format!("unknown architecture '{v}' (i386 or x86_64)"))),
                }
            }
            "mem" => {
                let v = need()?;
                self.mem = parse_size(v).ok_or_else(|| err(format!("bad size '{v}'")))?;
            }
            "slub_debug" => {
                self.slub_debug = Some(match value {
                    None | Some("") => SlubDebug::ALL,
                    Some(v) => SlubDebug::parse(v).map_err(err)?,
                })
            }
            "page_poison" => self.page_poison = parse_bool01(key, need()?)?,
            "debug_pagealloc" => self.debug_pagealloc = parse_bool01(key, need()?)?,
            "debug_virtual" => self.debug_virtual = parse_bool01(key, need()?)?,
            "kmalloc_max" => {
                self.kmalloc_max = match need()? {
                    "4M" | "4096K" | "current" => KmallocMax::Current,
                    "128K" | "legacy" => KmallocMax::Legacy,
                    v => return Err(err(format!("expected 4M or 128K, got '{v}'"))),
                }
            }
            "kernel" => {
                let v = need()?;
                self.kernel = Kernel::parse(v)
                    .ok_or_else(|| err(format!("unknown kernel '{v}' (6.6 or 2.6)")))?;
                // The release's kmalloc limit; a kmalloc_max on the same line overrides it
                // (parse_words applies `kernel` first, wherever it stands).
                self.kmalloc_max = self.kernel.kmalloc_max();
            }
            "pae" => self.pae = parse_bool01(key, need()?)?,
            _ => return Err(err("unknown boot option".into())),
        }
        Ok(())
    }

    /// Checks the whole configuration once every key is applied.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.arch != Arch::I386 {
            let only_i386 = |key: &str, what: &str| {
                Err(ConfigError {
                    key: key.into(),
                    message: format!("{what} is modelled for arch=i386 only"),
                })
            };
            if self.pae {
                return only_i386("pae", "PAE");
            }
            if self.kernel == Kernel::V2_6 {
                return only_i386("kernel", "the classic 2.6 layout");
            }
        }
        let err = |m: String| {
            Err(ConfigError {
                key: "mem".into(),
                message: m,
            })
        };
        let max = match self.arch {
            Arch::I386 if self.pae => MAX_MEM_I386_PAE,
            Arch::I386 => MAX_MEM_I386,
            Arch::X86_64 => MAX_MEM_X86_64,
        };
        if self.mem < MIN_MEM {
            return err(format!(
                "{} is below the 16M minimum",
                format_size(self.mem)
            ));
        }
        if self.mem > max {
            return err(format!(
                "{} is above the {} maximum for {}{}",
                format_size(self.mem),
                format_size(max),
                self.arch.name(),
                match (self.arch, self.pae) {
                    (Arch::I386, false) => " without pae=1",
                    (Arch::I386, true) => " with PAE",
                    _ => "",
                }
            ));
        }
        if !self.mem.is_multiple_of(crate::PAGE_SIZE) {
            return err(format!("{} is not a whole number of pages", self.mem));
        }
        Ok(())
    }

    /// Parses `key=value` words (the boot line without `boot`). `kernel=` is applied first,
    /// wherever it stands, so that the release's defaults (its kmalloc limit) give way to
    /// any other key on the line.
    pub fn parse_words<'a>(
        words: impl IntoIterator<Item = &'a str>,
    ) -> Result<BootConfig, ConfigError> {
        let words: Vec<&str> = words.into_iter().collect();
        let split = |w: &'a str| match w.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (w, None),
        };
        let mut c = BootConfig::default();
        let (first, rest): (Vec<_>, Vec<_>) = words
            .iter()
            .map(|w| split(w))
            .partition(|&(k, _)| k == "kernel");
        for (k, v) in first.into_iter().chain(rest) {
            c.set(k, v)?;
        }
        c.validate()?;
        Ok(c)
    }

    /// The boot line's words, each `key=value`, omitting defaults except `arch` and `mem`.
    pub fn boot_words(&self) -> Vec<String> {
        let mut w = vec![
            format!("arch={}", self.arch.name()),
            format!("mem={}", format_size(self.mem)),
        ];
        if let Some(d) = self.slub_debug {
            w.push(if d == SlubDebug::ALL {
                "slub_debug".into()
            } else {
                format!("slub_debug={}", d.letters())
            });
        }
        if self.page_poison {
            w.push("page_poison=1".into());
        }
        if self.debug_pagealloc {
            w.push("debug_pagealloc=on".into());
        }
        if self.debug_virtual {
            w.push("debug_virtual=1".into());
        }
        if self.kernel != Kernel::V6_6 {
            w.push(format!("kernel={}", self.kernel.name()));
        }
        if self.kmalloc_max != self.kernel.kmalloc_max() {
            w.push(match self.kmalloc_max {
                KmallocMax::Current => "kmalloc_max=4M".into(),
                KmallocMax::Legacy => "kmalloc_max=128K".into(),
            });
        }
        if self.pae {
            w.push("pae=1".into());
        }
        w
    }
}

impl fmt::Display for BootConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "boot {}", self.boot_words().join(" "))
    }
}

/// One key of the boot line, as `kmemfuzz functions` lists it: its values, its default, what
/// it does, and how a configuration's value is written.
#[derive(Clone, Copy, Debug)]
pub struct BootKey {
    pub name: &'static str,
    pub values: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
    /// The configuration's value as the boot line writes it.
    pub value: fn(&BootConfig) -> String,
}

fn on_off(v: bool) -> String {
    (if v { "on" } else { "off" }).into()
}

fn one_zero(v: bool) -> String {
    (if v { "1" } else { "0" }).into()
}

/// Every key [`BootConfig::set`] accepts, in the order of SCENARIO.md. A key added to `set`
/// gets its row here (a test checks each row against `set`).
pub const BOOT_KEYS: &[BootKey] = &[
    BootKey {
        name: "arch",
        values: "i386, x86_64",
        default: "i386",
        meaning: "i386: the 3G/1G split, PAGE_OFFSET 0xC0000000, highmem; x86_64: 4-level paging",
        value: |c| c.arch.name().into(),
    },
    BootKey {
        name: "mem",
        values: "a size: 16M up to 4G (i386), 64G (i386 with pae=1, x86_64)",
        default: "128M",
        meaning: "physical memory",
        value: |c| format_size(c.mem),
    },
    BootKey {
        name: "slub_debug",
        values: "letters of FZPU; alone: FZPU; -: off",
        default: "off",
        meaning: "SLUB debugging of every cache: F consistency checks, Z red zones, P poisoning, U owner tracking",
        value: |c| c.slub_debug.map_or("-".into(), SlubDebug::letters),
    },
    BootKey {
        name: "page_poison",
        values: "0, 1",
        default: "0",
        meaning: "freed pages are filled with 0xaa and checked when handed out again",
        value: |c| one_zero(c.page_poison),
    },
    BootKey {
        name: "debug_pagealloc",
        values: "off, on",
        default: "off",
        meaning: "freed pages are unmapped from the direct map, so touching them faults",
        value: |c| on_off(c.debug_pagealloc),
    },
    BootKey {
        name: "debug_virtual",
        values: "0, 1",
        default: "0",
        meaning: "virt_to_phys() and friends reject addresses outside the direct map",
        value: |c| one_zero(c.debug_virtual),
    },
    BootKey {
        name: "kmalloc_max",
        values: "4M, 128K",
        default: "4M (128K with kernel=2.6)",
        meaning: "the largest kmalloc(): 4M as today, or the 128K of Linux 2.6",
        value: |c| match c.kmalloc_max {
            KmallocMax::Current => "4M".into(),
            KmallocMax::Legacy => "128K".into(),
        },
    },
    BootKey {
        name: "kernel",
        values: "6.6, 2.6",
        default: "6.6",
        meaning: "the version profile: 6.6's i386 layout formulas, or 2.6's classic layout (896M lowmem, VMALLOC_START rounded to 8M, kmalloc_max=128K); i386 only for 2.6",
        value: |c| c.kernel.name().into(),
    },
    BootKey {
        name: "pae",
        values: "0, 1",
        default: "0",
        meaning: "i386 with PAE: 3-level page tables, 512 pkmap slots, mem up to 64G",
        value: |c| one_zero(c.pae),
    },
];

impl BootConfig {
    /// Every key of [`BOOT_KEYS`] with its value, defaults included: the boot line the
    /// machine really ran with (`slub_debug=-` when SLUB debugging is off).
    pub fn full_words(&self) -> Vec<String> {
        BOOT_KEYS
            .iter()
            .map(|k| format!("{}={}", k.name, (k.value)(self)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_round_trip() {
        let c = BootConfig::parse_words([]).unwrap();
        assert_eq!(c, BootConfig::default());
        let c =
            BootConfig::parse_words(["arch=x86_64", "mem=4G", "slub_debug=FZ", "page_poison=1"])
                .unwrap();
        assert_eq!(c.arch, Arch::X86_64);
        assert_eq!(c.mem, 4 << 30);
        assert_eq!(
            c.slub_debug,
            Some(SlubDebug {
                consistency: true,
                red_zone: true,
                ..Default::default()
            })
        );
        let words = c.boot_words();
        assert_eq!(
            BootConfig::parse_words(words.iter().map(|s| s.as_str())).unwrap(),
            c
        );
        assert_eq!(
            BootConfig::parse_words(["slub_debug"]).unwrap().slub_debug,
            Some(SlubDebug::ALL)
        );
    }

    #[test]
    fn bad_configurations_are_errors() {
        assert!(BootConfig::parse_words(["mem=8M"]).is_err());
        assert!(BootConfig::parse_words(["mem=5G"]).is_err());
        assert!(BootConfig::parse_words(["arch=x86_64", "mem=64G"]).is_ok());
        assert!(BootConfig::parse_words(["arch=x86_64", "mem=65G"]).is_err());
        assert!(BootConfig::parse_words(["mem=16M1"]).is_err());
        assert!(BootConfig::parse_words(["arch=arm"]).is_err());
        assert!(BootConfig::parse_words(["slub_debug=Q"]).is_err());
        assert!(BootConfig::parse_words(["page_poison=2"]).is_err());
        assert!(BootConfig::parse_words(["frobnicate=1"]).is_err());
        assert!(BootConfig::parse_words(["mem=99999999999999999999G"]).is_err());
        assert!(BootConfig::parse_words(["mem=16777217"]).is_err());
        assert!(BootConfig::parse_words(["mem=8G"]).is_err());
        assert!(BootConfig::parse_words(["mem=8G", "pae=1"]).is_ok());
        assert!(BootConfig::parse_words(["mem=64G", "pae=1"]).is_ok());
        assert!(BootConfig::parse_words(["mem=65G", "pae=1"]).is_err());
        assert!(BootConfig::parse_words(["arch=x86_64", "pae=1"]).is_err());
        assert!(BootConfig::parse_words(["arch=x86_64", "kernel=2.6"]).is_err());
        assert!(BootConfig::parse_words(["kernel=3.10"]).is_err());
    }

    #[test]
    fn the_kernel_profile_sets_its_kmalloc_limit_and_any_kmalloc_max_overrides_it() {
        let c = BootConfig::parse_words(["kernel=2.6"]).unwrap();
        assert_eq!(
            (c.kernel, c.kmalloc_max),
            (Kernel::V2_6, KmallocMax::Legacy)
        );
        // Wherever kernel= stands, an explicit kmalloc_max wins.
        for words in [
            ["kmalloc_max=4M", "kernel=2.6"],
            ["kernel=2.6", "kmalloc_max=4M"],
        ] {
            let c = BootConfig::parse_words(words).unwrap();
            assert_eq!(
                (c.kernel, c.kmalloc_max),
                (Kernel::V2_6, KmallocMax::Current)
            );
        }
        // kmalloc_max=128K stays the alias of the 2.6 limit on a 6.6 layout.
        let c = BootConfig::parse_words(["kmalloc_max=128K"]).unwrap();
        assert_eq!(
            (c.kernel, c.kmalloc_max),
            (Kernel::V6_6, KmallocMax::Legacy)
        );
        assert_eq!(c.boot_words().last().unwrap(), "kmalloc_max=128K");
        assert_eq!(Kernel::parse("2.6.32"), Some(Kernel::V2_6));
        assert_eq!(Kernel::parse("6.6.0"), Some(Kernel::V6_6));
        assert_eq!(Kernel::parse("6.60"), None);
        let c = BootConfig::parse_words(["kernel=2.6", "pae=1", "mem=8G"]).unwrap();
        assert_eq!(c.to_string(), "boot arch=i386 mem=8G kernel=2.6 pae=1");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("160M"), Some(160 << 20));
        assert_eq!(parse_size("0x1000"), Some(4096));
        assert_eq!(parse_size("4K"), Some(4096));
        assert_eq!(parse_size("K"), None);
        assert_eq!(parse_size("0x"), None);
        assert_eq!(parse_number("0x+1"), None);
        assert_eq!(format_size(160 << 20), "160M");
        assert_eq!(format_size(4097), "4097");
    }

    #[test]
    fn every_boot_key_row_is_accepted_and_the_full_line_round_trips() {
        for k in BOOT_KEYS {
            let v = (k.value)(&BootConfig::default());
            assert!(
                BootConfig::default().set(k.name, Some(&v)).is_ok(),
                "{}",
                k.name
            );
        }
        assert!(BootConfig::default().set("frobnicate", Some("1")).is_err());
        let mut c = BootConfig::parse_words(["arch=x86_64", "mem=1G", "slub_debug=ZP"]).unwrap();
        c.page_poison = true;
        c.debug_pagealloc = true;
        c.debug_virtual = true;
        c.kmalloc_max = KmallocMax::Legacy;
        let mut old = BootConfig::parse_words(["mem=1G", "pae=1", "kernel=2.6"]).unwrap();
        old.kmalloc_max = KmallocMax::Current;
        for c in [c, old, BootConfig::default()] {
            let words = c.full_words();
            let mut back = BootConfig::parse_words(words.iter().map(|s| s.as_str())).unwrap();
            // slub_debug=- is "no options", the same machine as no slub_debug at all.
            if back.slub_debug == Some(SlubDebug::default()) {
                back.slub_debug = None;
            }
            assert_eq!(back, c, "{words:?}");
        }
    }
}
