//! Console sessions: a token is exchanged once for a random session id in an HttpOnly,
//! SameSite=Strict cookie. The session keeps the token's secret in memory only, and every
//! request authenticates it again, so a revoked token ends its sessions at once. Each session
//! has its own CSRF token, which every form must send back.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cookie's name.
pub const COOKIE: &str = "nw_session";
/// How long a session lasts without use.
pub const IDLE: Duration = Duration::from_secs(12 * 3600);

#[derive(Debug)]
struct Session {
    secret: String,
    csrf: String,
    used: Instant,
}

/// The live sessions. A server restart ends them all.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

/// 32 random bytes, hex.
pub fn random_id() -> String {
    let mut bytes = [0u8; 32];
    // The operating system's generator; failing it is not survivable for a server.
    if getrandom::fill(&mut bytes).is_err() {
        tracing::error!("The system random generator failed; refusing to create a session.");
        return String::new();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Sessions {
    /// Opens a session for `secret`; its id and CSRF token.
    pub fn open(&self, secret: String) -> Option<(String, String)> {
        let (id, csrf) = (random_id(), random_id());
        if id.is_empty() || csrf.is_empty() {
            return None;
        }
        let mut map = self.map.lock().ok()?;
        map.retain(|_, s| s.used.elapsed() < IDLE);
        map.insert(
            id.clone(),
            Session {
                secret,
                csrf: csrf.clone(),
                used: Instant::now(),
            },
        );
        Some((id, csrf))
    }

    /// The secret and CSRF token of a live session, refreshing its idle timer.
    pub fn get(&self, id: &str) -> Option<(String, String)> {
        let mut map = self.map.lock().ok()?;
        let s = map.get_mut(id)?;
        if s.used.elapsed() >= IDLE {
            map.remove(id);
            return None;
        }
        s.used = Instant::now();
        Some((s.secret.clone(), s.csrf.clone()))
    }

    /// Ends a session.
    pub fn close(&self, id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(id);
        }
    }
}

/// The session id in a `Cookie` header, if any.
pub fn session_id(cookie_header: Option<&str>) -> Option<String> {
    cookie_header?
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value for a new session (`secure` with TLS).
pub fn set_cookie(id: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        IDLE.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_open_resolve_and_close() {
        let s = Sessions::default();
        let (id, csrf) = s.open("nwt_x".into()).unwrap();
        assert_eq!(id.len(), 64);
        assert_ne!(id, csrf);
        assert_eq!(s.get(&id), Some(("nwt_x".into(), csrf)));
        s.close(&id);
        assert_eq!(s.get(&id), None);
        assert_eq!(
            session_id(Some(&format!("a=b; {COOKIE}=abc; c=d"))),
            Some("abc".into())
        );
        assert_eq!(session_id(Some("a=b")), None);
        assert!(set_cookie("x", true).contains("HttpOnly; SameSite=Strict"));
        assert!(set_cookie("x", true).ends_with("; Secure"));
    }
}
