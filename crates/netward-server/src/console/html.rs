//! Small HTML helpers: escaping (and URL encoding), the page frame, and form controls with
//! their error messages.
//! Every value that comes from data goes through [`esc`].

use netward_model::Role;

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes text for one segment or query value of a URL (everything but
/// `A-Z a-z 0-9 . - _`).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Who is looking, for the frame.
#[derive(Clone, Debug)]
pub struct Viewer {
    /// Token name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The session's CSRF token, for forms.
    pub csrf: String,
}

impl Viewer {
    /// Whether the viewer may do what `needed` allows.
    pub fn can(&self, needed: Role) -> bool {
        self.role.allows(needed)
    }

    /// The hidden CSRF field every form carries.
    pub fn csrf_field(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            esc(&self.csrf)
        )
    }
}

const NAV: [(&str, &str); 5] = [
    ("/devices", "Devices"),
    ("/indicators", "Indicators"),
    ("/alerts", "Alerts"),
    ("/incidents", "Incidents"),
    ("/settings", "Settings"),
];

/// A whole page: `title`, the navigation (with `current` marked), and `body`.
pub fn page(title: &str, current: &str, viewer: Option<&Viewer>, body: &str) -> String {
    let nav = match viewer {
        Some(v) => {
            let links: String = NAV
                .iter()
                .map(|(href, label)| {
                    let here = if *href == current {
                        " aria-current=\"page\""
                    } else {
                        ""
                    };
                    format!("<li><a href=\"{href}\"{here}>{label}</a></li>")
                })
                .collect();
            format!(
                "<nav aria-label=\"Main\"><ul>{links}</ul></nav>\
                 <form method=\"post\" action=\"/logout\" class=\"who\">{}\
                 <span>{} <span class=\"role\">({})</span></span> \
                 <button type=\"submit\">Sign out</button></form>",
                v.csrf_field(),
                esc(&v.name),
                v.role
            )
        }
        None => String::new(),
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · netward</title><link rel=\"stylesheet\" href=\"/console.css\">\
         <script src=\"/console.js\" defer></script></head><body>\
         <a class=\"skip\" href=\"#main\">Skip to content</a>\
         <header><a class=\"brand\" href=\"/\">netward</a>{nav}</header>\
         <div id=\"live\" role=\"status\" aria-live=\"polite\" class=\"live\"></div>\
         <main id=\"main\"><h1>{}</h1>{body}</main></body></html>",
        esc(title),
        esc(title)
    )
}

/// A message box: `kind` is `ok` or `error`.
pub fn notice(kind: &str, text: &str) -> String {
    let role = if kind == "error" { "alert" } else { "status" };
    format!(
        "<p class=\"notice {kind}\" role=\"{role}\">{}</p>",
        esc(text)
    )
}

/// A control's error: the attributes that tie the control to it, and the message itself.
fn error_parts(id: &str, error: Option<&str>) -> (String, String) {
    match error {
        Some(e) => (
            format!(" aria-invalid=\"true\" aria-describedby=\"{id}-error\""),
            format!(
                "<span class=\"field-error\" id=\"{id}-error\">{}</span>",
                esc(e)
            ),
        ),
        None => (String::new(), String::new()),
    }
}

/// A labelled text input, with its error (if any) beside it; its id is its name.
pub fn text_field(
    name: &str,
    label: &str,
    value: &str,
    error: Option<&str>,
    extra: &str,
) -> String {
    text_field_id(name, name, label, value, error, extra)
}

/// [`text_field`] with an id of its own, for a page with two fields of the same name.
pub fn text_field_id(
    id: &str,
    name: &str,
    label: &str,
    value: &str,
    error: Option<&str>,
    extra: &str,
) -> String {
    let (invalid, msg) = error_parts(id, error);
    format!(
        "<div class=\"field\"><label for=\"{id}\">{}</label>\
         <input id=\"{id}\" name=\"{name}\" value=\"{}\"{invalid} {extra}>{msg}</div>",
        esc(label),
        esc(value)
    )
}

/// A labelled select.
pub fn select_field(
    name: &str,
    label: &str,
    options: &[(&str, &str)],
    selected: &str,
    error: Option<&str>,
) -> String {
    let opts: String = options
        .iter()
        .map(|(v, l)| {
            let sel = if *v == selected { " selected" } else { "" };
            format!("<option value=\"{}\"{sel}>{}</option>", esc(v), esc(l))
        })
        .collect();
    let (invalid, msg) = error_parts(name, error);
    format!(
        "<div class=\"field\"><label for=\"{name}\">{}</label>\
         <select id=\"{name}\" name=\"{name}\"{invalid}>{opts}</select>{msg}</div>",
        esc(label)
    )
}

/// A table with a caption, column headers and rows of already-escaped cells.
pub fn table(caption: &str, headers: &[&str], rows: &[Vec<String>], body_id: &str) -> String {
    let head: String = headers
        .iter()
        .map(|h| format!("<th scope=\"col\">{}</th>", esc(h)))
        .collect();
    let body: String = rows
        .iter()
        .map(|r| {
            format!(
                "<tr>{}</tr>",
                r.iter()
                    .map(|c| format!("<td>{c}</td>"))
                    .collect::<String>()
            )
        })
        .collect();
    let id = if body_id.is_empty() {
        String::new()
    } else {
        format!(" id=\"{body_id}\"")
    };
    let empty = if rows.is_empty() {
        "<p class=\"empty\">Nothing yet.</p>"
    } else {
        ""
    };
    format!(
        "<div class=\"scroll\"><table><caption>{}</caption><thead><tr>{head}</tr></thead>\
         <tbody{id}>{body}</tbody></table></div>{empty}",
        esc(caption)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_from_data_is_escaped() {
        assert_eq!(
            esc("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        let f = text_field("title", "Title", "\"><b>", Some("<bad>"), "");
        assert!(!f.contains("<b>") && !f.contains("<bad>"));
        assert!(f.contains("aria-invalid=\"true\""));
    }
}
