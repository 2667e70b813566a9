//! The address ranges webhooks are never sent to, as one table: every range of the IANA IPv4
//! and IPv6 Special-Purpose Address Registries that is not globally reachable, plus multicast,
//! site-local and the deprecated transition ranges. Each row names its RFC, and the policy in
//! [`crate::target`] is derived from this table alone, so a range is added in one place and its
//! test (one per row, in this file) comes with it.
//!
//! Addresses that embed an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64 well-known
//! prefix, 6to4) are judged by the IPv4 address they carry: `[::ffff:127.0.0.1]`,
//! `[::7f00:1]`, `[64:ff9b::7f00:1]` and `[2002:7f00:1::]` all reach 127.0.0.1 one way or
//! another.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What a range means for a webhook target.
#[derive(Debug, Clone, Copy)]
pub enum Treatment {
    /// Never a target (unless every address is allowed).
    Blocked,
    /// Allowed only with `webhook_allow_loopback`.
    Loopback,
    /// Judged by the IPv4 address it embeds.
    Embedded {
        /// Where the IPv4 address is.
        ipv4: fn(Ipv6Addr) -> Ipv4Addr,
        /// Whether a connection reaches that IPv4 address on this host's own stack (IPv4-mapped
        /// only), so that an embedded loopback address is loopback. Through NAT64, 6to4 or the
        /// deprecated forms an embedded 127.0.0.1 is never the local receiver
        /// `webhook_allow_loopback` is meant for, so it stays refused.
        same_host: bool,
    },
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct SpecialRange {
    /// The first address of the range.
    pub first: IpAddr,
    /// The prefix length.
    pub len: u8,
    /// The registry's name for it.
    pub name: &'static str,
    /// Where it is defined.
    pub rfc: &'static str,
    /// What it means for a target.
    pub treatment: Treatment,
}

impl SpecialRange {
    /// Whether `ip` is in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.first, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                u32::from(ip) & mask == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.len)).unwrap_or(0);
                u128::from(ip) & mask == u128::from(net)
            }
            _ => false,
        }
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8, name: &'static str, rfc: &'static str) -> SpecialRange {
    SpecialRange { first: IpAddr::V4(Ipv4Addr::new(a, b, c, d)), len, name, rfc, treatment: Treatment::Blocked }
}

const fn v6(segments: [u16; 8], len: u8, name: &'static str, rfc: &'static str, treatment: Treatment) -> SpecialRange {
    let [a, b, c, d, e, f, g, h] = segments;
    SpecialRange { first: IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h)), len, name, rfc, treatment }
}

/// The low 32 bits (IPv4-mapped, IPv4-compatible, SIIT, NAT64 with a /96 prefix).
fn low_32(ip: Ipv6Addr) -> Ipv4Addr {
    Ipv4Addr::from(u128::from(ip) as u32)
}

/// Bits 16 to 48 (6to4).
fn six_to_four(ip: Ipv6Addr) -> Ipv4Addr {
    Ipv4Addr::from((u128::from(ip) >> 80) as u32)
}

const B: Treatment = Treatment::Blocked;
const MAPPED: Treatment = Treatment::Embedded { ipv4: low_32, same_host: true };
const EMBEDS_LOW_32: Treatment = Treatment::Embedded { ipv4: low_32, same_host: false };

/// The table. Where ranges overlap, the most specific row decides.
pub static RANGES: &[SpecialRange] = &[
    // IPv4 Special-Purpose Address Registry (every row that is not globally reachable).
    v4(0, 0, 0, 0, 8, "this network", "RFC 791"),
    v4(10, 0, 0, 0, 8, "private use", "RFC 1918"),
    v4(100, 64, 0, 0, 10, "shared address space (carrier-grade NAT)", "RFC 6598"),
    SpecialRange { treatment: Treatment::Loopback, ..v4(127, 0, 0, 0, 8, "loopback", "RFC 1122") },
    v4(169, 254, 0, 0, 16, "link local", "RFC 3927"),
    v4(172, 16, 0, 0, 12, "private use", "RFC 1918"),
    // Includes the two anycast /32s the registry calls reachable (PCP, TURN): not receivers.
    v4(192, 0, 0, 0, 24, "IETF protocol assignments", "RFC 6890"),
    v4(192, 0, 2, 0, 24, "documentation (TEST-NET-1)", "RFC 5737"),
    v4(192, 88, 99, 0, 24, "deprecated 6to4 relay anycast", "RFC 7526"),
    v4(192, 168, 0, 0, 16, "private use", "RFC 1918"),
    v4(198, 18, 0, 0, 15, "benchmarking", "RFC 2544"),
    v4(198, 51, 100, 0, 24, "documentation (TEST-NET-2)", "RFC 5737"),
    v4(203, 0, 113, 0, 24, "documentation (TEST-NET-3)", "RFC 5737"),
    v4(224, 0, 0, 0, 4, "multicast", "RFC 5771"),
    v4(240, 0, 0, 0, 4, "reserved for future use", "RFC 1112"),
    v4(255, 255, 255, 255, 32, "limited broadcast", "RFC 919"),
    // IPv6 Special-Purpose Address Registry, and the deprecated ranges that still route.
    v6([0, 0, 0, 0, 0, 0, 0, 0], 128, "unspecified", "RFC 4291", B),
    v6([0, 0, 0, 0, 0, 0, 0, 1], 128, "loopback", "RFC 4291", Treatment::Loopback),
    v6([0, 0, 0, 0, 0, 0, 0, 0], 96, "IPv4-compatible (deprecated)", "RFC 4291", EMBEDS_LOW_32),
    v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96, "IPv4-mapped", "RFC 4291", MAPPED),
    v6([0, 0, 0, 0, 0xffff, 0, 0, 0], 96, "IPv4-translated (SIIT)", "RFC 2765", EMBEDS_LOW_32),
    v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96, "NAT64 well-known prefix", "RFC 6052", EMBEDS_LOW_32),
    v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, "NAT64 local use", "RFC 8215", B),
    v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64, "discard only", "RFC 6666", B),
    v6([0x100, 0, 0, 1, 0, 0, 0, 0], 64, "dummy prefix", "RFC 9780", B),
    // Teredo, benchmarking, ORCHID and the rest; its reachable anycast and AS112 pieces are
    // not webhook receivers either, and Teredo embeds an address that cannot be checked.
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, "IETF protocol assignments (incl. Teredo)", "RFC 2928", B),
    v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, "documentation", "RFC 3849", B),
    v6(
        [0x2002, 0, 0, 0, 0, 0, 0, 0],
        16,
        "6to4",
        "RFC 3056",
        Treatment::Embedded { ipv4: six_to_four, same_host: false },
    ),
    v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, "documentation", "RFC 9637", B),
    v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16, "segment routing SIDs", "RFC 9602", B),
    v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, "unique local", "RFC 4193", B),
    v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, "link local", "RFC 4291", B),
    v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, "site local (deprecated)", "RFC 3879", B),
    v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "multicast", "RFC 4291", B),
];

/// The most specific row containing `ip`, if any.
pub fn classify(ip: IpAddr) -> Option<&'static SpecialRange> {
    RANGES.iter().filter(|r| r.contains(ip)).max_by_key(|r| r.len)
}

/// Why `ip` may not be a target, given whether loopback is allowed; `None` when it may.
pub fn refusal(ip: IpAddr, allow_loopback: bool) -> Option<&'static SpecialRange> {
    let row = classify(ip)?;
    match row.treatment {
        Treatment::Blocked => Some(row),
        Treatment::Loopback => (!allow_loopback).then_some(row),
        Treatment::Embedded { ipv4, same_host } => {
            let IpAddr::V6(v6) = ip else { return Some(row) };
            // The embedded address is judged by the IPv4 rows; IPv4 rows never embed, so this
            // recursion is one level deep.
            refusal(IpAddr::V4(ipv4(v6)), allow_loopback && same_host).map(|_| row)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last(r: &SpecialRange) -> IpAddr {
        match r.first {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) | u32::MAX.checked_shr(r.len.into()).unwrap_or(0))),
            IpAddr::V6(a) => {
                IpAddr::V6(Ipv6Addr::from(u128::from(a) | u128::MAX.checked_shr(r.len.into()).unwrap_or(0)))
            }
        }
    }

    fn step(ip: IpAddr, up: bool) -> Option<IpAddr> {
        match ip {
            IpAddr::V4(a) => {
                let n = u32::from(a);
                if up { n.checked_add(1) } else { n.checked_sub(1) }.map(|n| IpAddr::V4(n.into()))
            }
            IpAddr::V6(a) => {
                let n = u128::from(a);
                if up { n.checked_add(1) } else { n.checked_sub(1) }.map(|n| IpAddr::V6(n.into()))
            }
        }
    }

    /// An address inside `row` that the row itself decides (not a more specific row).
    fn inside(row: &SpecialRange) -> Vec<IpAddr> {
        [row.first, last(row), step(row.first, true).unwrap_or(row.first)]
            .into_iter()
            .filter(|ip| classify(*ip).is_some_and(|r| std::ptr::eq(r, row)))
            .collect()
    }

    #[test]
    fn every_row_blocks_inside_and_stops_at_its_edges() {
        for row in RANGES {
            let inside = inside(row);
            assert!(!inside.is_empty(), "{}: no address of its own", row.name);
            for ip in inside {
                match row.treatment {
                    Treatment::Blocked => assert!(refusal(ip, true).is_some(), "{} ({}): {ip}", row.name, row.rfc),
                    Treatment::Loopback => {
                        assert!(refusal(ip, false).is_some(), "{}: {ip}", row.name);
                        assert!(refusal(ip, true).is_none(), "{}: {ip} with loopback allowed", row.name);
                    }
                    // The embedded-address rows are checked with chosen addresses below.
                    Treatment::Embedded { .. } => {}
                }
            }
            // Just outside: not this row; an address no row claims is allowed.
            for ip in [step(row.first, false), step(last(row), true)].into_iter().flatten() {
                assert!(!row.contains(ip), "{}: {ip} is outside", row.name);
                if classify(ip).is_none() {
                    assert!(refusal(ip, false).is_none(), "{}: {ip} next to it is public", row.name);
                }
            }
        }
    }

    #[test]
    fn embedded_ipv4_addresses_are_judged_by_the_ipv4_they_carry() {
        for row in RANGES {
            let Treatment::Embedded { ipv4: extract, same_host } = row.treatment else { continue };
            let IpAddr::V6(base) = row.first else { panic!("{}: an IPv4 row embeds nothing", row.name) };
            let with = |v4: Ipv4Addr| {
                let shift = if extract(Ipv6Addr::from(u128::from(base) | 1)) == Ipv4Addr::from(1) { 0 } else { 80 };
                IpAddr::V6(Ipv6Addr::from(u128::from(base) | (u128::from(u32::from(v4)) << shift)))
            };
            for internal in [[127, 0, 0, 1], [10, 0, 0, 1], [169, 254, 169, 254], [198, 18, 0, 1], [240, 0, 0, 1]] {
                let ip = with(internal.into());
                assert_eq!(classify(ip).map(|r| r.name), Some(row.name), "{ip}");
                assert!(refusal(ip, false).is_some(), "{}: {ip}", row.name);
            }
            let public = with(Ipv4Addr::new(8, 8, 8, 8));
            assert!(refusal(public, false).is_none(), "{}: {public} carries a public address", row.name);
            let loopback = refusal(with(Ipv4Addr::LOCALHOST), true);
            assert_eq!(loopback.is_none(), same_host, "{}: loopback when allowed only on this host", row.name);
        }
    }

    #[test]
    fn the_reviewed_addresses_are_refused_and_public_ones_are_not() {
        for refused in [
            "::127.0.0.1",
            "::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::7f00:1",
            "fec0::1",
            "2002:7f00:1::",
            "198.18.0.1",
            "240.0.0.1",
            "192.0.0.8",
            "::ffff:10.0.0.1",
            "64:ff9b:1::1",
            "2001:db8::1",
            "100.64.0.1",
        ] {
            let ip: IpAddr = refused.parse().unwrap();
            assert!(refusal(ip, false).is_some(), "{refused}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "2001:4860:4860::8888", "64:ff9b::808:808"] {
            let ip: IpAddr = public.parse().unwrap();
            assert!(refusal(ip, false).is_none(), "{public}");
        }
    }
}
