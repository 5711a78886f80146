//! Indicator values: one IP address or one CIDR network, in canonical form.
//!
//! Canonical means: the shortest textual form (`2001:db8::1`, not `2001:0db8:0:0:0:0:0:1`), a
//! single address without a prefix, and an IPv4-mapped IPv6 value (`::ffff:192.0.2.1`) stored
//! as the IPv4 value it stands for, since the kernel sees that traffic as IPv4. A CIDR whose host
//! bits are set is refused, never truncated: the error names the network the user probably
//! meant.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// The address family of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// A validated, canonical indicator value.
/// It travels as its canonical text; reading it back parses and validates it again, so a
/// value with host bits set or a non-address is refused with the reason, never truncated.
/// It is read from the text in place, without a `String` of its own: a policy of a million
/// values is read without a million allocations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(into = "String")]
pub struct IndicatorValue(IpNet);

impl<'de> serde::Deserialize<'de> for IndicatorValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueText;
        impl serde::de::Visitor<'_> for ValueText {
            type Value = IndicatorValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
                IndicatorValue::parse(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(ValueText)
    }
}

/// Why a string is not an indicator value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Nothing but white space.
    #[error("the value is empty")]
    Empty,
    /// Neither an IPv4 nor an IPv6 address.
    #[error("`{input}` is not an IP address or CIDR network")]
    NotAnAddress {
        /// The text as given.
        input: String,
    },
    /// The part after `/` is not a prefix length the family allows.
    #[error("`{input}` has an invalid prefix length (IPv4 takes 0-32, IPv6 0-128)")]
    BadPrefix {
        /// The text as given.
        input: String,
    },
    /// The address has bits set beyond the prefix.
    #[error("`{input}` has host bits set: the network is `{canonical}`")]
    HostBitsSet {
        /// The text as given.
        input: String,
        /// The network that the prefix describes.
        canonical: String,
    },
}

impl IndicatorValue {
    /// Parses and normalises `input`.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(ValueError::Empty);
        }
        let not_an_address = || ValueError::NotAnAddress {
            input: text.to_owned(),
        };
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr = IpAddr::from_str(addr_text).map_err(|_| not_an_address())?;
        let max = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        let prefix = match prefix_text {
            None => max,
            Some(p) => parse_prefix(p, max).ok_or_else(|| ValueError::BadPrefix {
                input: text.to_owned(),
            })?,
        };
        let (addr, prefix) = unmap_v4(addr, prefix);
        let net = IpNet::new(addr, prefix).map_err(|_| ValueError::BadPrefix {
            input: text.to_owned(),
        })?;
        let network = net.trunc();
        if network.addr() != addr {
            return Err(ValueError::HostBitsSet {
                input: text.to_owned(),
                canonical: Self(network).to_string(),
            });
        }
        Ok(Self(network))
    }

    /// The value as a network; a single address has the full prefix length.
    pub fn network(&self) -> IpNet {
        self.0
    }

    /// Whether the value is one address (/32 or /128).
    pub fn is_single(&self) -> bool {
        self.0.prefix_len() == self.0.max_prefix_len()
    }

    /// The address family.
    pub fn family(&self) -> Family {
        match self.0 {
            IpNet::V4(_) => Family::V4,
            IpNet::V6(_) => Family::V6,
        }
    }

    /// The first and last address covered, as integers (IPv4 in the low 32 bits).
    pub fn bounds(&self) -> (u128, u128) {
        match self.0 {
            IpNet::V4(n) => (
                u128::from(u32::from(n.network())),
                u128::from(u32::from(n.broadcast())),
            ),
            IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
        }
    }

    /// Whether this value and `other` share at least one address.
    pub fn overlaps(&self, other: &IpNet) -> bool {
        self.0.contains(other) || other.contains(&self.0)
    }
}

impl From<Ipv4Addr> for IndicatorValue {
    fn from(addr: Ipv4Addr) -> Self {
        Self(IpNet::V4(Ipv4Net::from(addr)))
    }
}

impl From<Ipv6Addr> for IndicatorValue {
    fn from(addr: Ipv6Addr) -> Self {
        match addr.to_ipv4_mapped() {
            Some(v4) => Self::from(v4),
            None => Self(IpNet::V6(Ipv6Net::from(addr))),
        }
    }
}

impl TryFrom<String> for IndicatorValue {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<IndicatorValue> for String {
    fn from(v: IndicatorValue) -> Self {
        v.to_string()
    }
}

impl FromStr for IndicatorValue {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for IndicatorValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_single() {
            write!(f, "{}", self.0.addr())
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// A prefix length in plain decimal digits, at most `max`.
fn parse_prefix(text: &str, max: u8) -> Option<u8> {
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u8>().ok().filter(|p| *p <= max)
}

/// Turns `::ffff:a.b.c.d/p` (p >= 96) into `a.b.c.d/(p-96)`.
fn unmap_v4(addr: IpAddr, prefix: u8) -> (IpAddr, u8) {
    match addr {
        IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
            Some(v4) => (IpAddr::V4(v4), prefix - 96),
            None => (addr, prefix),
        },
        _ => (addr, prefix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        IndicatorValue::parse(s).map(|v| v.to_string()).unwrap()
    }

    #[test]
    fn single_addresses_are_canonical() {
        assert_eq!(canon(" 198.51.100.7 "), "198.51.100.7");
        assert_eq!(canon("198.51.100.7/32"), "198.51.100.7");
        assert_eq!(canon("2001:db8::1"), "2001:db8::1");
        assert_eq!(canon("2001:0DB8:0:0:0:0:0:1"), "2001:db8::1");
        assert_eq!(canon("2001:db8::1/128"), "2001:db8::1");
        assert_eq!(canon("::ffff:192.0.2.1"), "192.0.2.1");
    }

    #[test]
    fn networks_are_canonical() {
        assert_eq!(canon("10.1.0.0/16"), "10.1.0.0/16");
        assert_eq!(canon("2001:DB8::/32"), "2001:db8::/32");
        assert_eq!(canon("::ffff:10.0.0.0/104"), "10.0.0.0/8");
        assert_eq!(canon("0.0.0.0/0"), "0.0.0.0/0");
    }

    #[test]
    fn host_bits_are_refused_with_the_network_named() {
        let err = IndicatorValue::parse("10.1.2.3/24").unwrap_err();
        assert_eq!(
            err,
            ValueError::HostBitsSet {
                input: "10.1.2.3/24".into(),
                canonical: "10.1.2.0/24".into()
            }
        );
        assert!(err.to_string().contains("10.1.2.0/24"));
        let err = IndicatorValue::parse("2001:db8::1/64").unwrap_err();
        assert!(err.to_string().contains("2001:db8::/64"), "{err}");
    }

    #[test]
    fn malformed_values_are_refused() {
        for bad in [
            "",
            "  ",
            "example.com",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3.4/",
            "1.2.3.4/33",
            "1.2.3.4/-1",
            "1.2.3.4/+8",
            "2001:db8::/129",
            "1.2.3.4/8/8",
            "fe80::1%eth0",
            "1.2.3.4 5.6.7.8",
        ] {
            assert!(IndicatorValue::parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn bounds_cover_the_network() {
        let v = IndicatorValue::parse("10.0.0.0/30").unwrap();
        assert_eq!(v.bounds(), (0x0a00_0000, 0x0a00_0003));
        let v = IndicatorValue::parse("::/0").unwrap();
        assert_eq!(v.bounds(), (0, u128::MAX));
        assert!(!v.is_single());
        assert_eq!(v.family(), Family::V6);
    }
}
