//! The lists' sorting and paging, the same on every list page: `?sort=KEY&dir=desc` from a
//! list's own whitelist of keys (sorted in memory for the devices, by the store for the
//! others), the sortable table whose headers link to each order with `aria-sort`, and the
//! pager ("101–200 of 1,000" with previous and next links, no script).

use maud::{Markup, html};

use super::html::{table_frame, urlencode};

/// A column of a [`sortable_table`]: its header, and its key when it sorts.
pub type Column<'a> = (&'a str, Option<&'a str>);

/// A sortable column: its key, as `?sort=` names it, and how it compares two rows.
pub type ColumnOrder<T> = (&'static str, fn(&T, &T) -> std::cmp::Ordering);

/// How a list page is sorted: `?sort=KEY&dir=desc`; each page names its keys and sorts by
/// them, and an unknown key leaves the page's own order.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct SortOrder {
    /// The column's key.
    #[serde(default)]
    pub sort: String,
    /// `desc` for descending; anything else ascending.
    #[serde(default)]
    pub dir: String,
}

impl SortOrder {
    /// Whether the order is descending.
    pub fn descending(&self) -> bool {
        self.dir == "desc"
    }

    /// The store's order for the chosen key, from a list's whitelist of `(key, column)`;
    /// `None` (the list's own order) for an unknown key.
    pub fn store<C: Copy>(&self, keys: &[(&str, C)]) -> Option<crate::store::Sort<C>> {
        keys.iter()
            .find(|(k, _)| *k == self.sort)
            .map(|(_, column)| crate::store::Sort {
                column: *column,
                descending: self.descending(),
            })
    }

    /// The order as a pager's links keep it: `&sort=KEY&dir=DIR`, or nothing.
    pub fn query(&self) -> String {
        if self.sort.is_empty() {
            String::new()
        } else {
            format!(
                "&sort={}&dir={}",
                urlencode(&self.sort),
                urlencode(&self.dir)
            )
        }
    }

    /// Sorts `items` by the key whose name is chosen, with the comparison `keys` gives it;
    /// an unknown key leaves `items` as they are.
    pub fn apply<T>(&self, items: &mut [T], keys: &[ColumnOrder<T>]) {
        if let Some((_, cmp)) = keys.iter().find(|(k, _)| *k == self.sort) {
            items.sort_by(|a, b| {
                if self.descending() {
                    cmp(b, a)
                } else {
                    cmp(a, b)
                }
            });
        }
    }
}

/// A [`table`](super::html::table) whose column headers sort it: each header with a key links to the page
/// (`base`, which ends in `?` or `&`) sorted by it, ascending, or the other way when it is
/// the current order, which `aria-sort` tells screen readers.
pub fn sortable_table(
    caption: &str,
    columns: &[(&str, Option<&str>)],
    order: &SortOrder,
    base: &str,
    rows: &[Vec<Markup>],
    body_id: &str,
    empty: &str,
) -> Markup {
    let head = html! {
        @for (header, key) in columns {
            @let current = key.is_some_and(|k| k == order.sort);
            @let sort = current.then(|| if order.descending() { "descending" } else { "ascending" });
            th scope="col" aria-sort=[sort] {
                @if let Some(k) = key {
                    @let dir = if current && !order.descending() { "desc" } else { "asc" };
                    a href={ (base) "sort=" (k) "&dir=" (dir) } {
                        (header)
                        @match sort {
                            Some("ascending") => span aria-hidden="true" { " ▲" },
                            Some(_) => span aria-hidden="true" { " ▼" },
                            None => {}
                        }
                    }
                } @else {
                    (header)
                }
            }
        }
    };
    table_frame(caption, head, rows, body_id, empty)
}

/// The 1-based page a list's `?page=` asks for; anything that is not a page number is the
/// first.
pub fn page_number(raw: &str) -> usize {
    raw.trim().parse::<usize>().unwrap_or(1).clamp(1, MAX_PAGE)
}

/// The last page a list may ask for: its rows to skip stay far inside a 64-bit `OFFSET`, and
/// a page past the end is answered, not refused.
pub const MAX_PAGE: usize = 1_000_000;

/// Rows on one page of a short list (tokens, enrollment tokens, feeds).
pub const SHORT_LIST_ROWS: usize = 100;

/// How a short list is asked for: `?sort=KEY&dir=desc&page=N`.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct ListView {
    /// The column's key.
    #[serde(default)]
    pub sort: String,
    /// `desc` for descending; anything else ascending.
    #[serde(default)]
    pub dir: String,
    /// The 1-based page; anything else is the first.
    #[serde(default)]
    pub page: String,
}

impl ListView {
    /// The order asked for.
    pub fn order(&self) -> SortOrder {
        SortOrder {
            sort: self.sort.clone(),
            dir: self.dir.clone(),
        }
    }

    /// The store's page of [`SHORT_LIST_ROWS`], in the order from the whitelist `keys`.
    pub fn store<C: Copy>(&self, keys: &[(&str, C)]) -> crate::store::ListPage<C> {
        crate::store::ListPage {
            order: self.order().store(keys),
            top: SHORT_LIST_ROWS,
            skip: (page_number(&self.page) - 1).saturating_mul(SHORT_LIST_ROWS),
        }
    }

    /// The pager and the sortable table of a short list at `base` (ending in `?` or `&`) with
    /// `total` rows in all.
    pub fn render(
        &self,
        base: &str,
        total: u64,
        table: (&str, &[Column<'_>], &[Vec<Markup>]),
        empty: &str,
    ) -> Markup {
        let (caption, columns, rows) = table;
        let order = self.order();
        html! {
            (pager(page_number(&self.page), SHORT_LIST_ROWS, rows.len(), total, |p| {
                format!("{base}page={p}{}", order.query())
            }))
            (sortable_table(caption, columns, &order, base, rows, "", empty))
        }
    }
}

/// "101–200 of 1,000" for `shown` rows on page `page` of `page_rows` each, with links to the
/// previous and next pages (`link(n)` is page n's address; plain links: paging needs no
/// script).
pub fn pager(
    page: usize,
    page_rows: usize,
    shown: usize,
    total: u64,
    link: impl Fn(usize) -> String,
) -> Markup {
    use netward_model::text::thousands;
    let first = (page - 1).saturating_mul(page_rows);
    let has_next = (first + shown) < usize::try_from(total).unwrap_or(usize::MAX);
    html! {
        nav class="pager" aria-label="Pages" {
            p {
                @if shown == 0 {
                    (format!("0 of {}", thousands(total)))
                } @else {
                    (format!(
                        "{}–{} of {}",
                        thousands(first as u64 + 1),
                        thousands((first + shown) as u64),
                        thousands(total)
                    ))
                }
                @if page > 1 {
                    " " a href=(link(page - 1)) rel="prev" { "Previous" }
                }
                @if has_next {
                    " " a href=(link(page + 1)) rel="next" { "Next" }
                }
            }
        }
    }
}
