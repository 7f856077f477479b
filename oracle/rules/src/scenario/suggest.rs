//! "Did you mean ...?": the nearest known name to a misspelt function, GFP flag, SLAB flag or
//! boot key, by edit distance (optimal string alignment, case-insensitive), for the parser's
//! one-line errors.

use kmem_vocab::gfp::GFP_NAMES;
use kmem_vocab::slab_flags::SLAB_FLAG_NAMES;
use kmem_vocab::BOOT_KEYS;

use super::kind::OP_NAMES;

/// The edit distance between `a` and `b`: insertions, deletions, substitutions and swaps of
/// two neighbours each cost one.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().flat_map(char::to_lowercase).collect();
    let b: Vec<char> = b.chars().flat_map(char::to_lowercase).collect();
    // d[i][j]: distance between a[..i] and b[..j], three rows kept.
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

/// The candidate nearest to `word`, if one is near enough to be what was meant (at most a
/// quarter of the word's length away, and at least one edit allowed); the first in the
/// candidates' order wins a tie.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Words longer than any name are not misspellings of one (and would cost time).
    if word.chars().count() > 64 {
        return None;
    }
    let limit = (word.chars().count() / 4).max(1);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = distance(word, c);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// ` (did you mean NAME?)` for the nearest candidate, else `otherwise`.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    otherwise: impl FnOnce() -> String,
) -> String {
    nearest(word, candidates).map_or_else(otherwise, |n| format!(" (did you mean {n}?)"))
}

/// A misspelt name whose nearest known name an error shows. The search runs only when the
/// error is displayed: the parser's fuzz target reads millions of bad lines and shows none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hint {
    Function(String),
    Gfp(String),
    SlabFlags(String),
    BootKey(String),
}

impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&match self {
            Hint::Function(w) => function_hint(w),
            Hint::Gfp(w) => gfp_hint(w),
            Hint::SlabFlags(w) => slab_flags_hint(w),
            Hint::BootKey(w) => boot_key_hint(w),
        })
    }
}

/// Where the names are listed, for a word with no near name.
const SEE_LIST: &str = " (see kmemfuzz functions)";

/// The hint for an unknown function name.
pub fn function_hint(name: &str) -> String {
    did_you_mean(name, OP_NAMES.iter().copied().chain(["boot"]), || {
        SEE_LIST.into()
    })
}

/// The hint for a flag mask with an unknown name in it: the nearest name to the first
/// unknown part.
fn flag_hint(mask: &str, names: &[&'static str]) -> String {
    mask.split('|')
        .find(|p| !p.is_empty() && !p.as_bytes()[0].is_ascii_digit() && !names.contains(p))
        .map_or(String::new(), |p| {
            did_you_mean(p, names.iter().copied(), || SEE_LIST.into())
        })
}

/// The hint for a GFP mask with an unknown flag.
pub fn gfp_hint(mask: &str) -> String {
    let names: Vec<&'static str> = GFP_NAMES.iter().map(|&(n, _)| n).collect();
    flag_hint(mask, &names)
}

/// The hint for a SLAB flags mask with an unknown flag.
pub fn slab_flags_hint(mask: &str) -> String {
    let names: Vec<&'static str> = SLAB_FLAG_NAMES.iter().map(|&(n, _)| n).collect();
    flag_hint(mask, &names)
}

/// The hint for a boot key that is not one (nothing for a known key).
pub fn boot_key_hint(key: &str) -> String {
    if BOOT_KEYS.iter().any(|k| k.name == key) {
        return String::new();
    }
    let keys = || BOOT_KEYS.iter().map(|k| k.name);
    did_you_mean(key, keys(), || {
        format!(" (keys: {})", keys().collect::<Vec<_>>().join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("abc", ""), 3);
        assert_eq!(distance("GFP_KERNL", "GFP_KERNEL"), 1);
        assert_eq!(distance("kmlaloc", "kmalloc"), 1);
        assert_eq!(distance("gfp_kernel", "GFP_KERNEL"), 0);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions() {
        assert_eq!(gfp_hint("GFP_KERNL"), " (did you mean GFP_KERNEL?)");
        assert_eq!(
            gfp_hint("GFP_KERNEL|__GFP_ZEROO"),
            " (did you mean __GFP_ZERO?)"
        );
        assert_eq!(gfp_hint("GFP_BOGUS|0x1"), SEE_LIST);
        assert_eq!(gfp_hint("GFP_KERNEL|0x1"), "");
        assert_eq!(
            slab_flags_hint("SLAB_POISSON"),
            " (did you mean SLAB_POISON?)"
        );
        assert_eq!(function_hint("kmaloc"), " (did you mean kmalloc?)");
        assert_eq!(function_hint("vfre"), " (did you mean vfree?)");
        assert_eq!(function_hint("frobnicate"), SEE_LIST);
        assert_eq!(boot_key_hint("slab_debug"), " (did you mean slub_debug?)");
        assert_eq!(boot_key_hint("mem"), "");
        assert!(boot_key_hint(&"x".repeat(10_000)).starts_with(" (keys: arch, mem,"));
    }
}
