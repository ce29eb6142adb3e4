//! Charts as server-rendered SVG: no script, nothing fetched, text in the page's own colour
//! (so dark mode and contrast hold), each with a title for assistive technology.

use maud::{html, Markup};

/// One line of a chart.
pub struct Series<'a> {
    /// Its name, in the legend.
    pub name: &'a str,
    /// Its colour.
    pub color: &'a str,
    /// One value per x position.
    pub values: Vec<f64>,
}

const W: f64 = 720.0;
const H: f64 = 220.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 40.0;

fn fmt(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A line chart over days: `first` and `last` label the x axis, the y axis runs from 0 to
/// `y_max` (at least the largest value) with `suffix` on its labels.
pub fn line_chart(
    id: &str,
    label: &str,
    (first, last): (&str, &str),
    series: &[Series<'_>],
    y_max: Option<f64>,
    suffix: &str,
) -> Markup {
    let largest = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0_f64, f64::max);
    let top = y_max.unwrap_or(0.0).max(largest).max(1.0);
    let n = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    #[allow(clippy::cast_precision_loss)]
    let x = |i: usize| {
        if n <= 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: f64| TOP + plot_h * (1.0 - v / top);
    let points = |s: &Series<'_>| {
        s.values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    html! {
        figure.chart {
            svg id=(id) role="img" aria-label=(label) viewBox=(format!("0 0 {W} {H}")) width="100%"
                xmlns="http://www.w3.org/2000/svg" {
                title { (label) }
                @for k in 0..=4 {
                    @let v = top * f64::from(k) / 4.0;
                    line x1=(LEFT) x2=(W - RIGHT) y1=(format!("{:.1}", y(v))) y2=(format!("{:.1}", y(v)))
                        stroke="currentColor" stroke-opacity="0.2" {}
                    text x=(LEFT - 6.0) y=(format!("{:.1}", y(v) + 4.0)) font-size="11" text-anchor="end" fill="currentColor" { (fmt(v)) (suffix) }
                }
                text x=(LEFT) y=(H - BOTTOM + 16.0) font-size="11" fill="currentColor" { (first) }
                text x=(W - RIGHT) y=(H - BOTTOM + 16.0) font-size="11" text-anchor="end" fill="currentColor" { (last) }
                @for s in series {
                    @if n == 1 {
                        circle cx=(format!("{:.1}", x(0))) cy=(format!("{:.1}", y(s.values.first().copied().unwrap_or(0.0)))) r="3" fill=(s.color) {}
                    } @else {
                        polyline points=(points(s)) fill="none" stroke=(s.color) stroke-width="2" {}
                    }
                }
                @for (i, s) in series.iter().enumerate() {
                    @let lx = LEFT + 170.0 * f64::from(u16::try_from(i).unwrap_or(0));
                    rect x=(lx) y=(H - 14.0) width="12" height="4" fill=(s.color) {}
                    text x=(lx + 16.0) y=(H - 9.0) font-size="12" fill="currentColor" { (s.name) }
                }
            }
        }
    }
}

/// Horizontal bars of shares in percent, one per row (label, share, caption).
pub fn share_bars(id: &str, label: &str, rows: &[(String, f64, String)]) -> Markup {
    const ROW: f64 = 26.0;
    const LABEL: f64 = 240.0;
    const BAR: f64 = 340.0;
    #[allow(clippy::cast_precision_loss)]
    let height = ROW * rows.len() as f64 + 8.0;
    html! {
        svg id=(id) role="img" aria-label=(label) viewBox=(format!("0 0 {} {height}", LABEL + BAR + 140.0)) width="100%"
            xmlns="http://www.w3.org/2000/svg" {
            title { (label) }
            @for (i, (name, share, caption)) in rows.iter().enumerate() {
                @let y = ROW * f64::from(u16::try_from(i).unwrap_or(u16::MAX)) + 4.0;
                @let w = (BAR * share / 100.0).max(2.0);
                @let short: String = if name.chars().count() > 30 { name.chars().take(29).chain(['…']).collect() } else { name.clone() };
                text x="0" y=(y + 14.0) font-size="13" fill="currentColor" { title { (name) } (short) }
                rect x=(LABEL) y=(y) width=(format!("{w:.1}")) height="18" rx="3" fill="#2456c7" {
                    title { (name) ": " (caption) }
                }
                text x=(LABEL + w + 6.0) y=(y + 14.0) font-size="13" fill="currentColor" { (caption) }
            }
        }
    }
}
