//! Address translation: page_address, virt_to_page, page_to_phys, virt_to_phys, phys_to_virt,
//! and page_address / page_to_phys of the machine's extreme pages.

use super::super::choose::Draw;
use arbitrary::Result;

use super::super::super::ast::{Op, Operand};
use super::super::choose::{one_of, pick};
use super::super::state::{Gen, Kind};
use super::{Action, Cand};

impl Gen<'_> {
    /// Performs one of this family's well-behaved operations.
    pub(super) fn act_translate(&mut self, u: &mut impl Draw, a: Action) -> Result<()> {
        match a {
            Action::PageAddress => {
                if let Some(i) = self.pick(
                    u,
                    Cand::Pages {
                        whole: false,
                        low: true,
                    },
                )? {
                    let size = self.page_like(i).map_or(0, |(_, bytes)| bytes);
                    let of = self.root(i);
                    let op = Op::PageAddress {
                        page: self.operand(i),
                    };
                    self.bind(op, Kind::AddrView { of, size }, 0);
                }
            }
            Action::PageToPhys => {
                if let Some(i) = self.pick(
                    u,
                    Cand::Pages {
                        whole: false,
                        low: false,
                    },
                )? {
                    let (high, size) = self.page_like(i).unwrap_or((true, 0));
                    let of = self.root(i);
                    let op = Op::PageToPhys {
                        page: self.operand(i),
                    };
                    self.bind(
                        op,
                        Kind::Phys {
                            of,
                            size,
                            low: !high,
                        },
                        0,
                    );
                }
            }
            Action::VirtToPage => {
                if let Some(i) = self.pick(u, Cand::Linear)? {
                    let whole = self.owns_whole_page(i);
                    let of = self.root(i);
                    let op = Op::VirtToPage {
                        addr: self.operand(i),
                    };
                    let kind = Kind::PageView {
                        of,
                        high: false,
                        whole,
                    };
                    self.bind(op, kind, 0);
                }
            }
            Action::VirtToPhys => {
                if let Some(i) = self.pick(u, Cand::Linear)? {
                    let size = self.addr_size(i).unwrap_or(0);
                    let of = self.root(i);
                    let op = Op::VirtToPhys {
                        addr: self.operand(i),
                    };
                    self.bind(
                        op,
                        Kind::Phys {
                            of,
                            size,
                            low: true,
                        },
                        0,
                    );
                }
            }
            Action::PhysToVirt => {
                if let Some(i) = self.pick(u, Cand::PhysLow)? {
                    if let Some(&Kind::Phys { of, size, .. }) = self.kind(i) {
                        let op = Op::PhysToVirt {
                            phys: self.operand(i),
                        };
                        self.bind(op, Kind::AddrView { of, size }, 0);
                    }
                }
            }
            Action::TranslateExtreme => {
                // Any valid struct page translates: a well-behaved client may ask of one it
                // does not hold (pfn_to_page() of a pfn it knows).
                let page = Operand::Lit(one_of(u, &self.limits.pages)?.unwrap_or(0));
                let op = match pick(u, 0, 2)? {
                    0 => Op::PageAddress { page },
                    _ => Op::PageToPhys { page },
                };
                self.emit(None, op);
            }
            _ => {}
        }
        Ok(())
    }
}
