//! The addresses the agent must never block: the server's, resolved from its URL when its
//! name allows and remembered in the state directory for when DNS or the server is away, and
//! the machine's DNS resolvers, without which the server's name could not be found again.

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;

use super::state;

/// File in the state directory: the server's last resolved addresses, so that they stay
/// allowed when the agent restarts while DNS or the server is away.
const SERVER_ADDRESSES: &str = "server-addresses.json";

/// The host and port of a server URL (`https://host:port/…`, IPv6 in brackets).
pub(crate) fn host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split('/').next()?;
    let default_port = if scheme == "https" { 443 } else { 80 };
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = after
            .strip_prefix(':')
            .map_or(Some(default_port), |p| p.parse().ok())?;
        return Some((host.to_owned(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host.to_owned(), port.parse().ok()?)),
        None => Some((authority.to_owned(), default_port)),
    }
}

/// The `nameserver` addresses of a `resolv.conf`.
fn parse_resolvers(text: &str) -> Vec<IpNet> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .map(IpNet::from)
        .collect()
}

/// The DNS resolvers of this machine, which must stay reachable to find the server.
fn resolvers() -> Vec<IpNet> {
    parse_resolvers(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default())
}

/// The addresses never to block: the server's (resolved now when its name allows), and the
/// resolvers. Falls back to the last addresses that resolved, kept in `dir`.
pub async fn server_addresses(url: &str, dir: &Path) -> Vec<IpNet> {
    let mut out = resolvers();
    let resolved: Vec<IpNet> = match host_port(url) {
        Some((host, port)) => match host.parse::<IpAddr>() {
            Ok(ip) => vec![IpNet::from(ip)],
            Err(_) => match tokio::net::lookup_host((host.as_str(), port)).await {
                Ok(addrs) => addrs.map(|a| IpNet::from(a.ip())).collect(),
                Err(error) => {
                    tracing::warn!(%host, %error, "Cannot resolve the server; keeping its last known addresses allowed.");
                    Vec::new()
                }
            },
        },
        None => Vec::new(),
    };
    if resolved.is_empty() {
        out.extend(
            state::read::<Vec<IpNet>>(dir, SERVER_ADDRESSES)
                .ok()
                .flatten()
                .unwrap_or_default(),
        );
    } else {
        if let Err(error) = state::write(dir, SERVER_ADDRESSES, &resolved) {
            tracing::warn!(%error, "Cannot save the server's addresses.");
        }
        out.extend(resolved);
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_yield_host_and_port() {
        assert_eq!(
            host_port("https://netward.example:8440/x"),
            Some(("netward.example".into(), 8440))
        );
        assert_eq!(
            host_port("https://[2001:db8::1]:8443"),
            Some(("2001:db8::1".into(), 8443))
        );
        assert_eq!(
            host_port("https://[2001:db8::1]"),
            Some(("2001:db8::1".into(), 443))
        );
        assert_eq!(
            host_port("http://127.0.0.1"),
            Some(("127.0.0.1".into(), 80))
        );
        assert_eq!(host_port("no-scheme"), None);
    }

    #[test]
    fn resolvers_are_the_nameserver_lines() {
        let conf = "# comment\nnameserver 192.0.2.53\nsearch example\nnameserver 2001:db8::53\nnameserver bogus\n";
        assert_eq!(
            parse_resolvers(conf),
            [
                "192.0.2.53/32".parse::<IpNet>().unwrap(),
                "2001:db8::53/128".parse().unwrap()
            ]
        );
    }
}
