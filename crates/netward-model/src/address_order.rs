//! Addresses in numeric order, not text order: `100.64.0.2` before `100.64.0.10`, IPv4
//! before IPv6; anything that is not an address after them, in text order.

use std::net::IpAddr;

/// Sorts `addresses` numerically (an address may carry a `/prefix`, which sorts after the
/// bare address).
pub fn sort_addresses(addresses: &mut [String]) {
    addresses.sort_by_cached_key(|a| order_key(a));
}

/// Two addresses (or ranges) in the order [`sort_addresses`] puts them.
pub fn compare_addresses(a: &str, b: &str) -> std::cmp::Ordering {
    order_key(a).cmp(&order_key(b))
}

type OrderKey = (u8, Option<IpAddr>, Option<u8>, String);

fn order_key(a: &str) -> OrderKey {
    let (ip, prefix) = a.split_once('/').unwrap_or((a, ""));
    match ip.parse::<IpAddr>() {
        Ok(ip) => (0, Some(ip), prefix.parse::<u8>().ok(), String::new()),
        Err(_) => (1, None, None, a.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_sort_as_numbers() {
        let mut v: Vec<String> = [
            "host",
            "2001:db8::1",
            "100.64.0.10",
            "100.64.0.2",
            "9.9.9.9/32",
        ]
        .map(str::to_owned)
        .to_vec();
        sort_addresses(&mut v);
        assert_eq!(
            compare_addresses("100.64.0.2", "100.64.0.10"),
            std::cmp::Ordering::Less
        );
        assert_eq!(
            v,
            [
                "9.9.9.9/32",
                "100.64.0.2",
                "100.64.0.10",
                "2001:db8::1",
                "host"
            ]
        );
    }
}
