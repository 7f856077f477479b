//! Zones: managed pages, watermarks and lowmem_reserve as mm/page_alloc.c computes them at
//! boot, and the zonelist a GFP mask selects (gfp_zone() and the fallback order).

use crate::gfp::*;
use crate::layout::{Layout, ZoneSpan, ZoneType};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    pub span: ZoneSpan,
    /// Pages given to the buddy at boot (spanned less what boot reserved).
    pub managed: u64,
    pub wmark_min: u64,
    pub wmark_low: u64,
    pub wmark_high: u64,
    /// lowmem_reserve[j]: pages this zone keeps back from allocations whose highest
    /// allowed zone is j (indices into the machine's zone vector).
    pub lowmem_reserve: Vec<u64>,
}

impl Zone {
    pub fn kind(&self) -> ZoneType {
        self.span.zone
    }
    pub fn name(&self) -> &'static str {
        self.span.zone.name()
    }
}

fn int_sqrt(x: u64) -> u64 {
    let mut r = (x as f64).sqrt() as u64;
    while r * r > x {
        r -= 1;
    }
    while (r + 1) * (r + 1) <= x {
        r += 1;
    }
    r
}

/// Builds the zones of a layout: managed pages, then init_per_zone_wmark_min(),
/// __setup_per_zone_wmarks() and setup_per_zone_lowmem_reserve().
pub fn build_zones(layout: &Layout) -> Vec<Zone> {
    let mut zones: Vec<Zone> = layout
        .zones
        .iter()
        .map(|span| {
            let reserved: u64 = layout
                .reserved
                .iter()
                .map(|&(s, e, _)| e.min(span.end_pfn).saturating_sub(s.max(span.start_pfn)))
                .sum();
            Zone {
                span: *span,
                managed: span.spanned() - reserved,
                wmark_min: 0,
                wmark_low: 0,
                wmark_high: 0,
                lowmem_reserve: vec![],
            }
        })
        .collect();
    let lowmem_pages: u64 = zones
        .iter()
        .filter(|z| z.kind() != ZoneType::HighMem)
        .map(|z| z.managed)
        .sum();
    // min_free_kbytes = int_sqrt(lowmem_kbytes * 16), clamped to [128, 262144].
    let lowmem_kbytes = lowmem_pages * 4;
    let min_free_kbytes = int_sqrt(lowmem_kbytes * 16).clamp(128, 262_144);
    let pages_min = min_free_kbytes >> 2;
    for z in zones.iter_mut() {
        let tmp = (pages_min * z.managed)
            .checked_div(lowmem_pages)
            .unwrap_or(0);
        z.wmark_min = if z.kind() == ZoneType::HighMem {
            (z.managed / 1024).clamp(32, 128)
        } else {
            tmp
        };
        // watermark_scale_factor = 10 (0.1% of the zone).
        let step = (tmp >> 2).max(z.managed * 10 / 10_000);
        z.wmark_low = z.wmark_min + step;
        z.wmark_high = z.wmark_low + step;
    }
    let n = zones.len();
    for i in 0..n {
        let ratio = zones[i].kind().lowmem_reserve_ratio();
        let clear = ratio == 0 || zones[i].managed == 0;
        let mut reserve = vec![0u64; n];
        let mut upper = 0u64;
        for (j, r) in reserve.iter_mut().enumerate().skip(i + 1) {
            upper += zones[j].managed;
            *r = if clear { 0 } else { upper / ratio };
        }
        zones[i].lowmem_reserve = reserve;
    }
    zones
}

/// gfp_zone(): the highest zone type a mask allows, before mapping onto the zones that exist.
pub fn gfp_zone(gfp: Gfp) -> ZoneType {
    if gfp & __GFP_DMA != 0 {
        ZoneType::Dma
    } else if gfp & __GFP_DMA32 != 0 {
        ZoneType::Dma32
    } else if gfp & __GFP_HIGHMEM != 0 {
        ZoneType::HighMem
    } else {
        ZoneType::Normal
    }
}

/// The index (into `zones`) of the highest zone a mask may use: gfp_zone() mapped onto the
/// configuration (no DMA32 on i386 means Normal; no highmem means Normal or below).
pub fn highest_zoneidx(zones: &[Zone], gfp: Gfp) -> usize {
    let want = gfp_zone(gfp);
    let want = match (want, zones.iter().any(|z| z.kind() == ZoneType::Dma32)) {
        // i386 has no ZONE_DMA32: __GFP_DMA32 means ZONE_NORMAL there.
        (ZoneType::Dma32, false) => ZoneType::Normal,
        (w, _) => w,
    };
    // On x86_64, ZONE_HIGHMEM is ZONE_NORMAL; a small machine may lack the upper zones.
    zones.iter().rposition(|z| z.kind() <= want).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BootConfig;

    fn zones_of(words: &[&str]) -> Vec<Zone> {
        build_zones(&Layout::new(
            &BootConfig::parse_words(words.iter().copied()).unwrap(),
        ))
    }

    #[test]
    fn watermarks_are_linux_like() {
        let z = zones_of(&["mem=1G"]);
        // DMA: 4096 pages less 1280 reserved.
        assert_eq!(z[0].managed, 4096 - 1280);
        let lowmem_kb: u64 = (z[0].managed + z[1].managed) * 4;
        let mfk = int_sqrt(lowmem_kb * 16);
        assert!(mfk > 3000 && mfk < 4000, "{mfk}");
        let sum_min = z[0].wmark_min + z[1].wmark_min;
        assert!(sum_min <= mfk / 4 && sum_min + 2 >= mfk / 4);
        // HighMem: managed / 1024, clamped to [32, 128]; 6.6's 1G machine has 144 MiB of it.
        assert_eq!(z[2].wmark_min, 36);
        assert_eq!(zones_of(&["mem=1G", "kernel=2.6"])[2].wmark_min, 32);
        assert_eq!(z[0].lowmem_reserve[1], z[1].managed / 256);
        assert_eq!(z[0].lowmem_reserve[2], (z[1].managed + z[2].managed) / 256);
        assert_eq!(z[1].lowmem_reserve[2], z[2].managed / 32);
        assert_eq!(z[2].lowmem_reserve, vec![0, 0, 0]);
    }

    #[test]
    fn zonelists() {
        let z = zones_of(&["mem=1G"]);
        assert_eq!(highest_zoneidx(&z, GFP_KERNEL), 1);
        assert_eq!(highest_zoneidx(&z, GFP_DMA), 0);
        assert_eq!(highest_zoneidx(&z, GFP_HIGHUSER), 2);
        assert_eq!(highest_zoneidx(&z, GFP_KERNEL | __GFP_DMA32), 1);
        let z = zones_of(&["mem=16M"]);
        assert_eq!(highest_zoneidx(&z, GFP_HIGHUSER), 0);
        let z = zones_of(&["arch=x86_64", "mem=8G"]);
        assert_eq!(highest_zoneidx(&z, GFP_KERNEL | __GFP_DMA32), 1);
        assert_eq!(highest_zoneidx(&z, GFP_HIGHUSER), 2);
        let z = zones_of(&["arch=x86_64", "mem=1G"]);
        assert_eq!(highest_zoneidx(&z, GFP_KERNEL), 1);
    }
}
