//! Address translation: page_address, virt_to_page, page_to_phys, virt_to_phys, phys_to_virt.

use arbitrary::{Result, Unstructured};

use super::super::super::ast::Op;
use super::super::state::{Gen, Kind};
use super::{Action, Cand};

impl Gen<'_> {
    /// Performs one of this family's well-behaved operations.
    pub(super) fn act_translate(&mut self, u: &mut Unstructured<'_>, a: Action) -> Result<()> {
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
            _ => {}
        }
        Ok(())
    }
}
