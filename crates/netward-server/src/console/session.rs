//! The console's cookies: the session cookie (HttpOnly, SameSite=Strict, `__Host-` over TLS)
//! carrying a random session id, and the sign-in form's double-submit CSRF cookie. The
//! sessions themselves, their CSRF tokens and their timeouts are the core's
//! (`crate::sessions`), kept in the store.

use crate::sessions::IDLE_SECS;

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

/// 32 random bytes, hex (the sign-in form's CSRF token); empty if the system has none.
pub fn random_id() -> String {
    let mut bytes = [0u8; 32];
    // The operating system's generator; failing it is not survivable for a server.
    if getrandom::fill(&mut bytes).is_err() {
        tracing::error!("The system random generator failed; the sign-in form will be refused.");
        return String::new();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
        IDLE_SECS.unsigned_abs(),
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
    fn cookies_name_the_session_and_are_secure_over_tls() {
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
        assert!(set_cookie("x", false).contains("; Max-Age=43200"));
    }
}
