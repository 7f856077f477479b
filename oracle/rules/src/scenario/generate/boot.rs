//! The boot line of a generated scenario.

use super::choose::Draw;
use arbitrary::Result;
use kmem_vocab::config::KmallocMax;
use kmem_vocab::{Arch, BootConfig, SlubDebug};

use super::choose::{chance, one_of, pick};
use super::GenConfig;

const M: u64 = 1 << 20;
const G: u64 = 1 << 30;

/// Memory sizes, the default first so that a short input boots the default machine.
const MEM_I386: [u64; 10] = [
    128 * M,
    16 * M,
    32 * M,
    64 * M,
    160 * M,
    256 * M,
    512 * M,
    G,
    2 * G,
    4 * G,
];
const MEM_X86_64: [u64; 11] = [
    128 * M,
    16 * M,
    32 * M,
    64 * M,
    160 * M,
    256 * M,
    512 * M,
    G,
    2 * G,
    4 * G,
    8 * G,
];

/// A boot configuration: `cfg.boot` when set, else i386 mostly, a memory size from the list,
/// and (when `cfg.debug_options`) random debug options.
pub fn boot(u: &mut impl Draw, cfg: &GenConfig) -> Result<BootConfig> {
    if let Some(b) = &cfg.boot {
        return Ok(b.clone());
    }
    let mut b = BootConfig::default();
    if chance(u, cfg.x86_64_percent)? {
        b.arch = Arch::X86_64;
    }
    let mems: &[u64] = match b.arch {
        Arch::I386 => &MEM_I386,
        Arch::X86_64 => &MEM_X86_64,
    };
    b.mem = one_of(u, mems)?.unwrap_or(b.mem);
    if cfg.debug_options {
        b.slub_debug = match pick(u, 0, 9)? {
            0..=3 => None,
            4..=6 => Some(SlubDebug::ALL),
            _ => {
                let bits = pick(u, 0, 15)?;
                Some(SlubDebug {
                    consistency: bits & 1 != 0,
                    red_zone: bits & 2 != 0,
                    poison: bits & 4 != 0,
                    store_user: bits & 8 != 0,
                })
            }
        };
        b.page_poison = chance(u, 30)?;
        b.debug_pagealloc = chance(u, 25)?;
        b.debug_virtual = chance(u, 30)?;
        if chance(u, 10)? {
            b.kmalloc_max = KmallocMax::Legacy;
        }
        // The version profiles and PAE (i386 only): kernel=2.6 brings its 128K kmalloc
        // limit, and PAE may boot more than 4G.
        if b.arch == Arch::I386 {
            if chance(u, 15)? {
                b.kernel = kmem_vocab::Kernel::V2_6;
                b.kmalloc_max = KmallocMax::Legacy;
            }
            if chance(u, 15)? {
                b.pae = true;
                if chance(u, 20)? {
                    b.mem = one_of(u, &[8 * G, 16 * G])?.unwrap_or(8 * G);
                }
            }
        }
    }
    match b.validate() {
        Ok(()) => Ok(b),
        Err(_) => Ok(BootConfig::default()),
    }
}
