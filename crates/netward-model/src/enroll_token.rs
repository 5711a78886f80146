//! The enrollment token's text, `nwe_<secret>@<URL>[,<URL>…][#sha256:<hex>]`: the secret the
//! server checks, every URL an agent may reach the server at (one per replica, tried in turn),
//! and the SHA-256 of the one CA they all share, which the agent pins. A token of one URL is
//! the form issued before replicas, and reads the same.
//!
//! Only the text's shape is checked here; whether a URL is one the agent may use (its scheme,
//! plain HTTP on loopback only) is the agent's decision.

use std::fmt;

/// Why an enrollment token cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnrollTokenError {
    /// There is no `@` between the secret and the server addresses.
    #[error("the enrollment token has no server address (nwe_…@URL)")]
    NoServer,
    /// A URL of the list is empty (`@,https://…`, or a trailing comma).
    #[error("the enrollment token's server address {position} is empty")]
    EmptyServer {
        /// Its place in the list, from 1.
        position: usize,
    },
    /// The fragment is not `sha256:` and 64 hex digits.
    #[error("the enrollment token's CA fingerprint is malformed")]
    Fingerprint,
}

/// Where an enrollment token sends agents: the server's URLs, in the order agents try them,
/// and the CA they pin (`None`: plain HTTP on loopback).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrollTarget {
    /// The servers' base URLs, at least one, none empty and none with a `,`.
    pub servers: Vec<String>,
    /// The SHA-256 of the servers' CA, 64 lowercase hex digits.
    pub ca_fingerprint: Option<String>,
}

impl EnrollTarget {
    /// Reads `URL[,URL…][#sha256:<hex>]`; the URLs are trimmed, and the fingerprint lowercased.
    pub fn parse(text: &str) -> Result<Self, EnrollTokenError> {
        let (urls, pin) = match text.trim().split_once('#') {
            Some((urls, fragment)) => (urls, Some(parse_fingerprint(fragment)?)),
            None => (text.trim(), None),
        };
        let servers = urls
            .split(',')
            .map(str::trim)
            .enumerate()
            .map(|(i, url)| match url.is_empty() {
                true => Err(EnrollTokenError::EmptyServer { position: i + 1 }),
                false => Ok(url.to_owned()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            servers,
            ca_fingerprint: pin,
        })
    }
}

/// `sha256:` and 64 hex digits, lowercased.
fn parse_fingerprint(fragment: &str) -> Result<String, EnrollTokenError> {
    fragment
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
        .ok_or(EnrollTokenError::Fingerprint)
}

impl fmt::Display for EnrollTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.servers.join(","))?;
        match &self.ca_fingerprint {
            Some(fp) => write!(f, "#sha256:{fp}"),
            None => Ok(()),
        }
    }
}

/// An enrollment token: the secret and where it sends agents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrollToken {
    /// `nwe_…`, what the server checks.
    pub secret: String,
    /// The servers and their CA.
    pub target: EnrollTarget,
}

impl EnrollToken {
    /// Reads `nwe_<secret>@<URL>[,<URL>…][#sha256:<hex>]`.
    pub fn parse(token: &str) -> Result<Self, EnrollTokenError> {
        let (secret, rest) = token
            .trim()
            .split_once('@')
            .ok_or(EnrollTokenError::NoServer)?;
        Ok(Self {
            secret: secret.to_owned(),
            target: EnrollTarget::parse(rest)?,
        })
    }
}

impl fmt::Display for EnrollToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.secret, self.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_of_one_url_reads_as_before() {
        let fp = "AB".repeat(32);
        let token =
            EnrollToken::parse(&format!("nwe_x@https://192.0.2.1:8440#sha256:{fp}\n")).unwrap();
        assert_eq!(token.secret, "nwe_x");
        assert_eq!(token.target.servers, ["https://192.0.2.1:8440"]);
        assert_eq!(
            token.target.ca_fingerprint.as_deref(),
            Some("ab".repeat(32).as_str())
        );
        let plain = EnrollToken::parse("nwe_x@http://127.0.0.1:1").unwrap();
        assert_eq!(plain.target.ca_fingerprint, None);
        assert_eq!(plain.to_string(), "nwe_x@http://127.0.0.1:1");
    }

    #[test]
    fn several_urls_share_one_pin_and_round_trip_in_order() {
        let fp = "0f".repeat(32);
        let token = EnrollToken {
            secret: "nwe_0123".into(),
            target: EnrollTarget {
                servers: vec![
                    "https://a.example:8440".into(),
                    "https://[2001:db8::2]:8440/netward".into(),
                ],
                ca_fingerprint: Some(fp.clone()),
            },
        };
        let text = token.to_string();
        assert_eq!(
            text,
            format!(
                "nwe_0123@https://a.example:8440,https://[2001:db8::2]:8440/netward#sha256:{fp}"
            )
        );
        assert_eq!(EnrollToken::parse(&text).unwrap(), token);
        let spaced = EnrollTarget::parse(" https://a:1 , https://b:2 ").unwrap();
        assert_eq!(spaced.servers, ["https://a:1", "https://b:2"]);
    }

    #[test]
    fn malformed_tokens_are_refused_with_the_reason() {
        let fp = "ab".repeat(32);
        assert_eq!(EnrollToken::parse("nwe_x"), Err(EnrollTokenError::NoServer));
        assert_eq!(
            EnrollToken::parse("nwe_x@https://a:1#sha256:zz"),
            Err(EnrollTokenError::Fingerprint)
        );
        assert_eq!(
            EnrollToken::parse(&format!("nwe_x@https://a:1#md5:{fp}")),
            Err(EnrollTokenError::Fingerprint)
        );
        assert_eq!(
            EnrollToken::parse(&format!("nwe_x@https://a:1,#sha256:{fp}")),
            Err(EnrollTokenError::EmptyServer { position: 2 })
        );
        assert_eq!(
            EnrollToken::parse("nwe_x@"),
            Err(EnrollTokenError::EmptyServer { position: 1 })
        );
    }
}
