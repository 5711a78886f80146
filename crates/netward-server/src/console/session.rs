//! Console sessions: a token is exchanged once for a random session id in an HttpOnly,
//! SameSite=Strict cookie. The session keeps the token's secret in memory only, and every
//! request authenticates it again, so a revoked token ends its sessions at once. Each session
//! has its own CSRF token, which every form must send back.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The session cookie's name over plain HTTP (loopback only).
pub const COOKIE: &str = "nw_session";
/// Its name over TLS: the `__Host-` prefix makes browsers refuse it unless it is `Secure`,
/// for this host only and for every path, so no sibling domain can plant one.
pub const SECURE_COOKIE: &str = "__Host-nw_session";
/// The sign-in form's own CSRF cookie (double submit), so that no other site can sign a
/// browser in with the other site's token.
pub const LOGIN_COOKIE: &str = "nw_login";
/// Its name over TLS.
pub const SECURE_LOGIN_COOKIE: &str = "__Host-nw_login";
/// How long a session lasts without use.
pub const IDLE: Duration = Duration::from_secs(12 * 3600);
/// Sessions one token may hold at once; signing in once more ends its least recently used.
pub const MAX_SESSIONS_PER_TOKEN: usize = 16;

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
        let mut same: Vec<(Instant, String)> = map
            .iter()
            .filter(|(_, s)| s.secret == secret)
            .map(|(id, s)| (s.used, id.clone()))
            .collect();
        if same.len() >= MAX_SESSIONS_PER_TOKEN {
            same.sort();
            let excess = same.len() + 1 - MAX_SESSIONS_PER_TOKEN;
            for (_, old) in same.into_iter().take(excess) {
                map.remove(&old);
            }
        }
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

    /// The secret of a live session, without counting this as use: a page left open on its
    /// live updates does not keep its session alive.
    pub fn peek(&self, id: &str) -> Option<String> {
        let map = self.map.lock().ok()?;
        let s = map.get(id)?;
        (s.used.elapsed() < IDLE).then(|| s.secret.clone())
    }

    /// Ends a session.
    pub fn close(&self, id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(id);
        }
    }
}

/// The value of cookie `name` in a `Cookie` header, if any.
pub fn cookie(cookie_header: Option<&str>, name: &str) -> Option<String> {
    cookie_header?
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// The session id in a `Cookie` header, if any (`secure` with TLS).
pub fn session_id(cookie_header: Option<&str>, secure: bool) -> Option<String> {
    cookie(cookie_header, if secure { SECURE_COOKIE } else { COOKIE })
}

fn set(name: &str, value: &str, max_age: u64, secure: bool) -> String {
    format!(
        "{name}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value for a new session (`secure` with TLS).
pub fn set_cookie(id: &str, secure: bool) -> String {
    set(
        if secure { SECURE_COOKIE } else { COOKIE },
        id,
        IDLE.as_secs(),
        secure,
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    set(if secure { SECURE_COOKIE } else { COOKIE }, "", 0, secure)
}

/// The sign-in form's CSRF cookie name.
pub fn login_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_LOGIN_COOKIE
    } else {
        LOGIN_COOKIE
    }
}

/// The `Set-Cookie` value for the sign-in form's CSRF token (ten minutes).
pub fn set_login_cookie(token: &str, secure: bool) -> String {
    set(login_cookie_name(secure), token, 600, secure)
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
        assert_eq!(s.peek(&id), Some("nwt_x".into()));
        s.close(&id);
        assert_eq!(s.get(&id), None);
        assert_eq!(s.peek(&id), None);
        assert_eq!(
            session_id(Some(&format!("a=b; {COOKIE}=abc; c=d")), false),
            Some("abc".into())
        );
        assert_eq!(session_id(Some(&format!("{COOKIE}=abc")), true), None);
        assert_eq!(session_id(Some("a=b"), false), None);
        assert!(
            set_cookie("x", true)
                .starts_with("__Host-nw_session=x; HttpOnly; SameSite=Strict; Path=/")
        );
        assert!(set_cookie("x", true).ends_with("; Secure"));
        assert!(!set_cookie("x", false).contains("Secure"));
    }

    #[test]
    fn a_token_holds_a_bounded_number_of_sessions_and_loses_its_least_recently_used() {
        let s = Sessions::default();
        let first = s.open("nwt_a".into()).unwrap().0;
        let others: Vec<String> = (1..MAX_SESSIONS_PER_TOKEN)
            .map(|_| s.open("nwt_a".into()).unwrap().0)
            .collect();
        let elsewhere = s.open("nwt_b".into()).unwrap().0;
        // Using the first makes the second the least recently used.
        assert!(s.get(&first).is_some());
        let newest = s.open("nwt_a".into()).unwrap().0;
        assert!(
            s.get(&others[0]).is_none(),
            "the least recently used session stayed"
        );
        assert!(s.get(&first).is_some() && s.get(&newest).is_some());
        assert!(
            s.get(&elsewhere).is_some(),
            "another token's session was ended"
        );
        let live = s
            .map
            .lock()
            .unwrap()
            .values()
            .filter(|x| x.secret == "nwt_a")
            .count();
        assert_eq!(live, MAX_SESSIONS_PER_TOKEN);
    }
}
