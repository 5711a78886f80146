//! Addresses in numeric order, not text order: `100.64.0.2` before `100.64.0.10`, IPv4
//! before IPv6; anything that is not an address after them, in text order.

use std::net::IpAddr;

/// Sorts `addresses` numerically (an address may carry a `/prefix`, which sorts after the
/// bare address).
pub fn sort_addresses(addresses: &mut [String]) {
    addresses.sort_by_cached_key(|a| {
        let (ip, prefix) = a.split_once('/').unwrap_or((a, ""));
        match ip.parse::<IpAddr>() {
            Ok(ip) => (0, Some(ip), prefix.parse::<u8>().ok(), String::new()),
            Err(_) => (1, None, None, a.clone()),
        }
    });
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
