//! Small HTML building blocks on top of [`maud`]: the page frame, notices, tables and
//! labelled form controls with their error messages. Everything spliced into a template is
//! escaped by maud unless it is already [`Markup`], so no page escapes by hand; the only raw
//! text is maud's own output.

use maud::{DOCTYPE, Markup, Render, html};
use netward_model::Role;

pub use super::lists::{
    Column, ColumnOrder, ListView, SortOrder, page_number, pager, sortable_table,
};

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
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf); }
    }
}

const NAV: [(&str, &str); 11] = [
    ("/overview", "Overview"),
    ("/devices", "Devices"),
    ("/indicators", "Indicators"),
    ("/feeds", "Feeds"),
    ("/alerts", "Alerts"),
    ("/incidents", "Incidents"),
    ("/events", "Events"),
    ("/hunting", "Hunting"),
    ("/enrollment", "Enrollment"),
    ("/audit", "Audit log"),
    ("/settings", "Settings"),
];

/// A whole page: `title`, the navigation (with `current` marked) for a signed-in `viewer`,
/// the live region `console.js` announces in, and `body`.
pub fn page(title: &str, current: &str, viewer: Option<&Viewer>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · netward" }
                link rel="stylesheet" href="/console.css";
                script src="/console.js" defer {}
            }
            body {
                a class="skip" href="#main" { "Skip to content" }
                header {
                    a class="brand" href="/" { "netward" }
                    @if let Some(v) = viewer {
                        nav aria-label="Main" {
                            ul {
                                @for (href, label) in NAV {
                                    li { a href=(href) aria-current=[(href == current).then_some("page")] { (label) } }
                                }
                            }
                        }
                        form method="post" action="/logout" class="who" {
                            (v.csrf_field())
                            span { (v.name) " " span class="role" { "(" (v.role) ")" } }
                            " "
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                div id="live" role="status" aria-live="polite" class="live" {}
                main id="main" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// What a notice tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// Something worked (a status message).
    Ok,
    /// Something failed (an alert for screen readers).
    Error,
}

/// A message box.
pub fn notice(kind: Notice, text: &str) -> Markup {
    let (class, role) = match kind {
        Notice::Ok => ("notice ok", "status"),
        Notice::Error => ("notice error", "alert"),
    };
    // An error is the page's error summary: `console.js` moves focus to it and the title
    // says so.
    let summary = (kind == Notice::Error).then_some("error-summary");
    html! { p class=(class) role=(role) id=[summary] tabindex=[summary.map(|_| "-1")] { (with_code(text)) } }
}

/// `text` with each `backticked` part as `<code>`, as our messages write values.
pub fn with_code(text: &str) -> Markup {
    html! {
        @for (i, part) in text.split('`').enumerate() {
            @if i % 2 == 1 { code { (part) } } @else { (part) }
        }
    }
}

/// A labelled text input, with its error (if any) beside it and tied to it for screen
/// readers. Built with [`TextField::new`] and rendered by splicing it into a template.
#[derive(Clone, Copy, Debug)]
pub struct TextField<'a> {
    id: &'a str,
    name: &'a str,
    label: &'a str,
    value: &'a str,
    error: Option<&'a str>,
    kind: Option<&'static str>,
    autocomplete: Option<&'static str>,
    required: bool,
    readonly: bool,
    autofocus: bool,
}

impl<'a> TextField<'a> {
    /// An empty, optional text input whose id is its name.
    pub fn new(name: &'a str, label: &'a str) -> Self {
        TextField {
            id: name,
            name,
            label,
            value: "",
            error: None,
            kind: None,
            autocomplete: None,
            required: false,
            readonly: false,
            autofocus: false,
        }
    }

    /// An id of its own, for a page with two fields of the same name.
    pub fn id(self, id: &'a str) -> Self {
        TextField { id, ..self }
    }

    /// The value shown in it.
    pub fn value(self, value: &'a str) -> Self {
        TextField { value, ..self }
    }

    /// The error shown beside it, if any.
    pub fn error(self, error: Option<&'a str>) -> Self {
        TextField { error, ..self }
    }

    /// The input's `type` (`password`, `search`); text when not set.
    pub fn kind(self, kind: &'static str) -> Self {
        TextField {
            kind: Some(kind),
            ..self
        }
    }

    /// The browser's `autocomplete` hint.
    pub fn autocomplete(self, hint: &'static str) -> Self {
        TextField {
            autocomplete: Some(hint),
            ..self
        }
    }

    /// Marked required.
    pub fn required(self) -> Self {
        TextField {
            required: true,
            ..self
        }
    }

    /// Read-only when `readonly`.
    pub fn readonly(self, readonly: bool) -> Self {
        TextField { readonly, ..self }
    }

    /// Focused when the page opens.
    pub fn autofocus(self) -> Self {
        TextField {
            autofocus: true,
            ..self
        }
    }
}

impl Render for TextField<'_> {
    fn render(&self) -> Markup {
        let error_id = format!("{}-error", self.id);
        html! {
            div class="field" {
                label for=(self.id) { (self.label) }
                input id=(self.id) name=(self.name) value=(self.value)
                    aria-invalid=[self.error.map(|_| "true")]
                    aria-describedby=[self.error.map(|_| &error_id)]
                    type=[self.kind] autocomplete=[self.autocomplete]
                    required[self.required] readonly[self.readonly] autofocus[self.autofocus];
                @if let Some(e) = self.error {
                    span class="field-error" id=(error_id) { (with_code(e)) }
                }
            }
        }
    }
}

/// A labelled select whose id is its name; `options` are (value, label).
pub fn select_field(
    name: &str,
    label: &str,
    options: &[(&str, &str)],
    selected: &str,
    error: Option<&str>,
) -> Markup {
    select_field_id(name, name, label, options, selected, error)
}

/// [`select_field`] with an id of its own, for a page with two selects of the same name.
pub fn select_field_id(
    id: &str,
    name: &str,
    label: &str,
    options: &[(&str, &str)],
    selected: &str,
    error: Option<&str>,
) -> Markup {
    let error_id = format!("{id}-error");
    html! {
        div class="field" {
            label for=(id) { (label) }
            select id=(id) name=(name)
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| &error_id)] {
                @for (value, text) in options {
                    option value=(value) selected[*value == selected] { (text) }
                }
            }
            @if let Some(e) = error {
                span class="field-error" id=(error_id) { (with_code(e)) }
            }
        }
    }
}

/// A table with a caption, column headers and rows of cells; `body_id` names the `tbody`
/// that `console.js` updates, if any.
pub fn table(caption: &str, headers: &[&str], rows: &[Vec<Markup>], body_id: &str) -> Markup {
    table_or(caption, headers, rows, body_id, "Nothing yet.")
}

/// [`table`], saying `empty` when there are no rows (a search that matched nothing is not
/// an empty store).
pub fn table_or(
    caption: &str,
    headers: &[&str],
    rows: &[Vec<Markup>],
    body_id: &str,
    empty: &str,
) -> Markup {
    let head = html! { @for h in headers { th scope="col" { (h) } } };
    table_frame(caption, head, rows, body_id, empty)
}

/// A table with `head` (its header cells) and `rows`, in a scroll region.
pub(super) fn table_frame(
    caption: &str,
    head: Markup,
    rows: &[Vec<Markup>],
    body_id: &str,
    empty: &str,
) -> Markup {
    html! {
        // Focusable and named, so a keyboard can scroll a wide table at phone width.
        div class="scroll" tabindex="0" role="region" aria-label=(caption) {
            table {
                caption { (caption) }
                thead { tr { (head) } }
                tbody id=[(!body_id.is_empty()).then_some(body_id)] {
                    @for row in rows {
                        tr { @for cell in row { td { (cell) } } }
                    }
                }
            }
        }
        @if rows.is_empty() {
            p class="empty" { (empty) }
        }
    }
}

/// A definition list of facts, each term and value as text.
pub fn facts<K: AsRef<str>, V: AsRef<str>>(facts: &[(K, V)]) -> Markup {
    html! {
        @for (k, v) in facts {
            dt { (k.as_ref()) }
            dd { (v.as_ref()) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_from_data_is_escaped() {
        let f = TextField::new("title", "Title")
            .value("\"><b>")
            .error(Some("<bad>"))
            .render()
            .into_string();
        assert!(!f.contains("<b>") && !f.contains("<bad>"), "{f}");
        assert!(f.contains("value=\"&quot;&gt;&lt;b&gt;\""), "{f}");
        assert!(f.contains("aria-invalid=\"true\""), "{f}");
        assert!(f.contains("aria-describedby=\"title-error\""), "{f}");
        let t = table(
            "<caption>",
            &["<h>"],
            &[vec!["<script>alert('x') & \"y\"</script>".render()]],
            "",
        )
        .into_string();
        assert!(
            t.contains("<td>&lt;script&gt;alert('x') &amp; &quot;y&quot;&lt;/script&gt;</td>"),
            "{t}"
        );
        assert!(
            !t.contains("<caption><caption>") && !t.contains("<h>"),
            "{t}"
        );
        let v = Viewer {
            name: "<n>".into(),
            role: Role::Viewer,
            csrf: "\"x".into(),
        };
        assert_eq!(
            v.csrf_field().into_string(),
            "<input type=\"hidden\" name=\"csrf\" value=\"&quot;x\">"
        );
        let p = page("<t>", "/devices", Some(&v), html! {}).into_string();
        assert!(!p.contains("<n>") && !p.contains("<t>"), "{p}");
        assert!(
            p.contains("<a href=\"/devices\" aria-current=\"page\">Devices</a>"),
            "{p}"
        );
    }

    #[test]
    fn sorted_columns_say_so_and_link_to_the_other_way() {
        let order = SortOrder {
            sort: "name".into(),
            dir: String::new(),
        };
        let t = sortable_table(
            "Things",
            &[
                ("Name", Some("name")),
                ("Size", Some("size")),
                ("Note", None),
            ],
            &order,
            "/things?x=1&",
            &[],
            "",
            "Nothing yet.",
        )
        .into_string();
        assert!(t.contains("<th scope=\"col\" aria-sort=\"ascending\"><a href=\"/things?x=1&amp;sort=name&amp;dir=desc\">Name"), "{t}");
        assert!(
            t.contains(
                "<th scope=\"col\"><a href=\"/things?x=1&amp;sort=size&amp;dir=asc\">Size</a></th>"
            ),
            "{t}"
        );
        assert!(t.contains("<th scope=\"col\">Note</th>"), "{t}");
        let mut v = vec![3, 1, 2];
        let keys: [ColumnOrder<i32>; 1] = [("name", |a, b| a.cmp(b))];
        order.apply(&mut v, &keys);
        assert_eq!(v, [1, 2, 3]);
        SortOrder {
            sort: "name".into(),
            dir: "desc".into(),
        }
        .apply(&mut v, &keys);
        assert_eq!(v, [3, 2, 1]);
        SortOrder {
            sort: "junk".into(),
            dir: String::new(),
        }
        .apply(&mut v, &keys);
        assert_eq!(v, [3, 2, 1], "an unknown key keeps the order");
    }

    #[test]
    fn fields_carry_their_attributes_and_no_error_attributes_without_an_error() {
        let f = TextField::new("token", "Token")
            .kind("password")
            .autocomplete("current-password")
            .required()
            .autofocus()
            .render()
            .into_string();
        for attr in [
            "type=\"password\"",
            "autocomplete=\"current-password\"",
            " required",
            " autofocus",
        ] {
            assert!(f.contains(attr), "{attr} in {f}");
        }
        assert!(
            !f.contains("aria-invalid") && !f.contains("readonly"),
            "{f}"
        );
        let s = select_field("a", "A", &[("x", "X"), ("y", "Y")], "y", None).into_string();
        assert!(s.contains("<option value=\"y\" selected>Y</option>"), "{s}");
        assert!(s.contains("<option value=\"x\">X</option>"), "{s}");
    }
}
