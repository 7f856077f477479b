//! /proc/slabinfo (mm/slab_common.c slab_show(), SLUB's get_slabinfo()).

use crate::machine::Machine;

impl Machine {
    /// /proc/slabinfo, version 2.1: the newest cache first, as slab_caches is walked.
    /// active_objs counts every object not free on a partial slab (the model has no per-CPU
    /// slabs, so it is the exact number allocated).
    pub fn proc_slabinfo(&self) -> String {
        let mut s = String::from("slabinfo - version: 2.1\n");
        s.push_str(
            "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n",
        );
        for &id in self.slub.slab_caches.iter().rev() {
            let c = &self.slub.caches[id];
            let num_objs = c.total_objects;
            let free: u64 = c
                .partial
                .iter()
                .filter_map(|p| self.slub.slabs.get(p))
                .map(|sl| sl.objects.saturating_sub(sl.inuse) as u64)
                .sum();
            let active = num_objs.saturating_sub(free);
            let nr_slabs = c.slabs.len();
            s.push_str(&format!(
                "{:<17} {:6} {:6} {:6} {:4} {:4} : tunables {:4} {:4} {:4} : slabdata {:6} {:6} {:6}\n",
                c.name,
                active,
                num_objs,
                c.layout.size,
                c.objects,
                1u32 << c.order,
                0,
                0,
                0,
                nr_slabs,
                nr_slabs,
                0
            ));
        }
        s
    }
}
