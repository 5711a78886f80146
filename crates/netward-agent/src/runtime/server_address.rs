//! The addresses the agent must never block: the servers' (one per replica), resolved from
//! their URLs when their names allow and remembered in the state directory for when DNS or the server is away, and
//! the machine's DNS resolvers, without which the server's name could not be found again.

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use netward_model::agent_wire::{Exemption, ExemptionReason};
use url::{Host, Url};

use super::state;
use crate::kernel_policy::exemption;

/// File in the state directory: the server's last resolved addresses, so that they stay
/// allowed when the agent restarts while DNS or the server is away.
const SERVER_ADDRESSES: &str = "server-addresses.json";

/// Why a server URL cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ServerUrlError {
    /// The text is not a URL.
    #[error("the server `{url}` is not a URL: {source}")]
    Malformed {
        /// The text given.
        url: String,
        /// What the parser found wrong.
        #[source]
        source: url::ParseError,
    },
    /// The scheme is neither `https` nor `http`.
    #[error("the server `{url}` is not an http(s):// URL")]
    Scheme {
        /// The text given.
        url: String,
    },
    /// There is no host to connect to.
    #[error("`{url}` names no host")]
    NoHost {
        /// The text given.
        url: String,
    },
    /// An `https` server without the pinned CA fingerprint of its enrollment token.
    #[error("`{url}`: an https server needs the CA fingerprint from its enrollment token")]
    Unpinned {
        /// The text given.
        url: String,
    },
    /// Plain `http` to a host that is not loopback.
    #[error(
        "refusing plain HTTP to `{host}`: the device credential would cross the network in clear text; the server must be on loopback"
    )]
    PlainHttpOffLoopback {
        /// The host named.
        host: String,
    },
}

/// A server's base URL, `http(s)://host[:port][/path]`, as the agent uses it: the text it was
/// given (without a trailing `/`, so paths can be appended), the host, and the port (80 or 443
/// by scheme when none is given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerUrl {
    text: String,
    https: bool,
    host: Host<String>,
    port: u16,
}

impl ServerUrl {
    /// Parses a server URL; IPv6 addresses go in brackets (`http://[::1]:8440`).
    pub fn parse(text: &str) -> Result<Self, ServerUrlError> {
        let text = text.trim().trim_end_matches('/');
        let url = Url::parse(text).map_err(|source| match source {
            url::ParseError::EmptyHost => ServerUrlError::NoHost { url: text.into() },
            source => ServerUrlError::Malformed {
                url: text.into(),
                source,
            },
        })?;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            _ => return Err(ServerUrlError::Scheme { url: text.into() }),
        };
        let host = url
            .host()
            .map(|h| h.to_owned())
            .ok_or_else(|| ServerUrlError::NoHost { url: text.into() })?;
        let port = url
            .port_or_known_default()
            .unwrap_or(if https { 443 } else { 80 });
        Ok(Self {
            text: text.to_owned(),
            https,
            host,
            port,
        })
    }

    /// Checks that the device credential is safe on the way: `https` with a pinned CA, or
    /// plain `http` on loopback only.
    pub fn check_transport(&self, pinned: bool) -> Result<(), ServerUrlError> {
        if self.https {
            return match pinned {
                true => Ok(()),
                false => Err(ServerUrlError::Unpinned {
                    url: self.text.clone(),
                }),
            };
        }
        let loopback = match &self.host {
            Host::Domain(name) => name == "localhost",
            Host::Ipv4(ip) => ip.is_loopback(),
            Host::Ipv6(ip) => ip.is_loopback(),
        };
        match loopback {
            true => Ok(()),
            false => Err(ServerUrlError::PlainHttpOffLoopback {
                host: self.host.to_string(),
            }),
        }
    }

    /// The URL as given, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The host: a name, or an address.
    pub fn host(&self) -> &Host<String> {
        &self.host
    }

    /// The port, 443 or 80 by scheme when the URL gives none.
    pub fn port(&self) -> u16 {
        self.port
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

/// The addresses of the server at `url`: its address, or what its name resolves to now;
/// `None` when the name does not resolve (DNS away) or the URL does not parse.
async fn resolve(url: &str) -> Option<Vec<IpNet>> {
    let server = ServerUrl::parse(url).ok()?;
    match server.host() {
        Host::Ipv4(ip) => Some(vec![IpNet::from(IpAddr::V4(*ip))]),
        Host::Ipv6(ip) => Some(vec![IpNet::from(IpAddr::V6(*ip))]),
        Host::Domain(host) => match tokio::net::lookup_host((host.as_str(), server.port())).await {
            Ok(addrs) => Some(addrs.map(|a| IpNet::from(a.ip())).collect()),
            Err(error) => {
                tracing::warn!(%host, %error, "Cannot resolve the server; keeping its last known addresses allowed.");
                None
            }
        },
    }
}

/// The addresses never to block, with the reason: every server's (one per replica, resolved
/// now when its name allows), and the resolvers. When a name does not resolve, the addresses
/// last saved in `dir` are kept allowed too; they are saved again only when every name
/// resolved, so a replica's addresses are never forgotten while its name cannot be looked up.
pub async fn server_addresses(urls: &[String], dir: &Path) -> Vec<Exemption> {
    let mut out: Vec<Exemption> = resolvers()
        .into_iter()
        .filter_map(|net| exemption(net, ExemptionReason::DnsResolver))
        .collect();
    let mut resolved: Vec<IpNet> = Vec::new();
    let mut every_one = true;
    for url in urls {
        match resolve(url).await {
            Some(nets) => resolved.extend(nets),
            None => every_one = false,
        }
    }
    if every_one && !resolved.is_empty() {
        if let Err(error) = state::write(dir, SERVER_ADDRESSES, &resolved) {
            tracing::warn!(%error, "Cannot save the server's addresses.");
        }
    } else {
        resolved.extend(
            state::read::<Vec<IpNet>>(dir, SERVER_ADDRESSES)
                .ok()
                .flatten()
                .unwrap_or_default(),
        );
    }
    out.extend(
        resolved
            .into_iter()
            .filter_map(|net| exemption(net, ExemptionReason::Server)),
    );
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_port(text: &str) -> (String, u16) {
        let url = ServerUrl::parse(text).unwrap();
        (url.host().to_string(), url.port())
    }

    #[test]
    fn server_urls_yield_host_and_port_with_defaults_by_scheme() {
        assert_eq!(
            host_port("https://netward.example:8440/x"),
            ("netward.example".into(), 8440)
        );
        assert_eq!(
            host_port("https://[2001:db8::1]:8443"),
            ("[2001:db8::1]".into(), 8443)
        );
        assert_eq!(
            host_port("https://[2001:db8::1]"),
            ("[2001:db8::1]".into(), 443)
        );
        assert_eq!(host_port("http://[::1]"), ("[::1]".into(), 80));
        assert_eq!(host_port("http://127.0.0.1"), ("127.0.0.1".into(), 80));
        assert_eq!(
            host_port("https://Netward.Example/"),
            ("netward.example".into(), 443)
        );
        let v6 = ServerUrl::parse("http://[::1]/").unwrap();
        assert_eq!(
            v6.host(),
            &Host::<String>::Ipv6(std::net::Ipv6Addr::LOCALHOST)
        );
        assert_eq!(v6.as_str(), "http://[::1]", "paths are appended to it");
    }

    #[test]
    fn unusable_server_urls_are_refused_with_the_reason() {
        let refuse = |text: &str| ServerUrl::parse(text).unwrap_err();
        assert!(matches!(
            refuse("no-scheme"),
            ServerUrlError::Malformed { .. }
        ));
        assert!(matches!(
            refuse("ftp://127.0.0.1"),
            ServerUrlError::Scheme { .. }
        ));
        assert!(matches!(refuse("https://"), ServerUrlError::NoHost { .. }));
        assert!(matches!(
            refuse("http://[::1"),
            ServerUrlError::Malformed { .. }
        ));
        assert!(matches!(
            refuse("http://h:99999"),
            ServerUrlError::Malformed { .. }
        ));
        let plain = ServerUrl::parse("http://192.0.2.1:8440").unwrap();
        let error = plain.check_transport(false).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("refusing plain HTTP to `192.0.2.1`"),
            "{error}"
        );
        for loopback in ["http://[::1]", "http://localhost:1", "http://127.0.0.1"] {
            ServerUrl::parse(loopback)
                .unwrap()
                .check_transport(false)
                .unwrap();
        }
        let https = ServerUrl::parse("https://[2001:db8::1]").unwrap();
        assert!(matches!(
            https.check_transport(false),
            Err(ServerUrlError::Unpinned { .. })
        ));
        https.check_transport(true).unwrap();
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

    #[tokio::test]
    async fn every_replica_is_exempt_and_kept_when_a_name_stops_resolving() {
        let dir = tempfile::tempdir().unwrap();
        let servers = |exempt: &[Exemption]| -> Vec<String> {
            exempt
                .iter()
                .filter(|e| e.reason == ExemptionReason::Server)
                .map(|e| e.range.to_string())
                .collect()
        };
        let replicas = vec![
            "https://192.0.2.10:8440".to_owned(),
            "https://[2001:db8::11]:8440".to_owned(),
        ];
        let both = server_addresses(&replicas, dir.path()).await;
        assert_eq!(servers(&both), ["192.0.2.10", "2001:db8::11"]);
        // A third replica whose name does not resolve (`.invalid` never does): the two saved
        // addresses stay exempt.
        let mut more = replicas.clone();
        more.push("https://replica.invalid:8440".into());
        let kept = server_addresses(&more, dir.path()).await;
        assert_eq!(servers(&kept), ["192.0.2.10", "2001:db8::11"]);
    }
}
