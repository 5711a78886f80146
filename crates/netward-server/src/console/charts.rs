//! Charts drawn by the server as SVG, with no script and no library. Every chart carries its
//! own text: the time chart is an `img` with a `<title>` and a `<desc>` that says the totals,
//! and a table of every bucket beside it; a bar table is a table whose bars are only
//! decoration (`aria-hidden`), its numbers being in the cells. Colours come from the
//! stylesheet (classes), so the dark scheme applies to them too.

use maud::{Markup, PreEscaped, html};

/// Height of the time chart's plot area, in its own units.
const PLOT_HEIGHT: u64 = 160;
/// Width of the time chart, in its own units.
const PLOT_WIDTH: u64 = 720;
/// Room below the plot for the time labels.
const LABEL_ROOM: u64 = 24;
/// Width of a bar table's bar, in its own units.
const BAR_WIDTH: u64 = 200;

/// One stacked column of the time chart: its label and a value per series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Column {
    /// What the column covers, as its label says it (`14:00`).
    pub label: String,
    /// What it covers, said in full (`2026-12-02 14:00 to 15:00 UTC`), for its tooltip.
    pub span: String,
    /// One value per series, in the series' order.
    pub values: Vec<u64>,
}

/// A series of the time chart: its name and its CSS class.
#[derive(Clone, Copy, Debug)]
pub(super) struct Series {
    pub name: &'static str,
    pub class: &'static str,
}

/// The height of `value` in a plot of `max`, never 0 for a value above 0 (it stays seen).
fn scaled(value: u64, max: u64, room: u64) -> u64 {
    if value == 0 || max == 0 {
        return 0;
    }
    (value.saturating_mul(room) / max).max(1)
}

/// A stacked column chart over time: an `img` titled `title`, described by `summary`.
/// Every `label_every`-th column is labelled below the plot.
pub(super) fn stacked_columns(
    id: &str,
    title: &str,
    summary: &str,
    series: &[Series],
    columns: &[Column],
    label_every: usize,
) -> Markup {
    let max = columns
        .iter()
        .map(|c| c.values.iter().sum::<u64>())
        .max()
        .unwrap_or(0);
    let slot = PLOT_WIDTH / (columns.len().max(1) as u64);
    let bar = (slot * 4 / 5).max(1);
    let height = PLOT_HEIGHT + LABEL_ROOM;
    html! {
        svg class="chart" id=(id) viewBox={ "0 0 " (PLOT_WIDTH) " " (height) } role="img"
            aria-labelledby={ (id) "-title " (id) "-desc" } xmlns="http://www.w3.org/2000/svg" {
            title id={ (id) "-title" } { (title) }
            desc id={ (id) "-desc" } { (summary) }
            line class="axis" x1="0" y1=(PLOT_HEIGHT) x2=(PLOT_WIDTH) y2=(PLOT_HEIGHT) {}
            @for (i, c) in columns.iter().enumerate() {
                @let x = i as u64 * slot + (slot - bar) / 2;
                g {
                    title { (c.span) ": " (column_words(series, c)) }
                    // A transparent column under the bars, so the whole slot shows its tooltip.
                    rect class="slot" x=(i as u64 * slot) y="0" width=(slot) height=(PLOT_HEIGHT) {}
                    (stack(series, c, x, bar, max))
                }
                @if label_every > 0 && i % label_every == 0 {
                    text class="tick" x=(x) y=(height - 6) { (c.label) }
                }
            }
            text class="tick" x="4" y="14" { "max " (max) }
        }
    }
}

/// The rectangles of one column, bottom up in the series' order.
fn stack(series: &[Series], c: &Column, x: u64, bar: u64, max: u64) -> Markup {
    let mut top = PLOT_HEIGHT;
    let mut out = String::new();
    for (s, v) in series.iter().zip(&c.values) {
        let h = scaled(*v, max, PLOT_HEIGHT).min(top);
        if h == 0 {
            continue;
        }
        top -= h;
        out.push_str(
            &html! { rect class=(s.class) x=(x) y=(top) width=(bar) height=(h) {} }.into_string(),
        );
    }
    PreEscaped(out)
}

/// A column's values in words: `3 blocked, 0 audited, 1 allowed`.
pub(super) fn column_words(series: &[Series], c: &Column) -> String {
    series
        .iter()
        .zip(&c.values)
        .map(|(s, v)| format!("{v} {}", s.name.to_lowercase()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A decorative horizontal bar for a bar table: `value` of `max`, hidden from screen
/// readers (the number is in the next cell).
pub(super) fn bar(value: u64, max: u64, class: &str) -> Markup {
    let w = scaled(value, max, BAR_WIDTH);
    html! {
        svg class="bar" viewBox={ "0 0 " (BAR_WIDTH) " 12" } aria-hidden="true" focusable="false"
            xmlns="http://www.w3.org/2000/svg" {
            rect class=(class) x="0" y="0" width=(w) height="12" {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERIES: [Series; 2] = [
        Series {
            name: "Blocked",
            class: "fill-blocked",
        },
        Series {
            name: "Allowed",
            class: "fill-allowed",
        },
    ];

    fn column(label: &str, values: &[u64]) -> Column {
        Column {
            label: label.into(),
            span: format!("{label} to later"),
            values: values.to_vec(),
        }
    }

    #[test]
    fn columns_are_stacked_to_scale_and_say_their_numbers() {
        let chart = stacked_columns(
            "hits",
            "Hits <by> outcome",
            "12 blocked",
            &SERIES,
            &[
                column("00:00", &[8, 0]),
                column("01:00", &[4, 4]),
                column("02:00", &[0, 0]),
            ],
            2,
        )
        .into_string();
        assert!(chart.contains("role=\"img\""), "{chart}");
        assert!(
            chart.contains("aria-labelledby=\"hits-title hits-desc\""),
            "{chart}"
        );
        assert!(
            chart.contains("<title id=\"hits-title\">Hits &lt;by&gt; outcome</title>"),
            "{chart}"
        );
        assert!(
            chart.contains("<desc id=\"hits-desc\">12 blocked</desc>"),
            "{chart}"
        );
        // The tallest column fills the plot; the second is half blocked, half allowed.
        assert!(
            chart.contains("class=\"fill-blocked\" x=\"24\" y=\"0\" width=\"192\" height=\"160\""),
            "{chart}"
        );
        assert!(
            chart.contains("class=\"fill-blocked\" x=\"264\" y=\"80\" width=\"192\" height=\"80\""),
            "{chart}"
        );
        assert!(
            chart.contains("class=\"fill-allowed\" x=\"264\" y=\"0\" width=\"192\" height=\"80\""),
            "{chart}"
        );
        assert!(
            chart.contains("<title>01:00 to later: 4 blocked, 4 allowed</title>"),
            "{chart}"
        );
        // Every second column is labelled.
        assert!(
            chart.contains(">00:00</text>") && chart.contains(">02:00</text>"),
            "{chart}"
        );
        assert!(!chart.contains(">01:00</text>"), "{chart}");
    }

    #[test]
    fn a_small_value_stays_visible_and_nothing_draws_nothing() {
        assert_eq!(scaled(1, 1_000_000, 160), 1);
        assert_eq!(scaled(0, 10, 160), 0);
        assert_eq!(scaled(5, 0, 160), 0);
        let b = bar(0, 0, "fill-blocked").into_string();
        assert!(
            b.contains("width=\"0\"") && b.contains("aria-hidden=\"true\""),
            "{b}"
        );
    }
}
