"""Plotly figures, and the one palette every page uses (one colour per dimension)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

# The palette: one colour per dimension, everywhere (charts, badges). Overall is the theme's ink.
DIMENSION_COLORS = {
    "accuracy": "#2E6FBA",
    "completeness": "#2E9E6B",
    "consistency": "#8A5CC2",
    "duplication": "#D9822B",
    "freshness": "#C2415B",
}
OVERALL_COLOR = "#1F2A37"
ANNOTATION_COLOR = "#6B7280"
AGE_COLORS = ("#2E9E6B", "#8CC084", "#F2C14E", "#E07A3F", "#C2415B")
FONT = dict(family="Source Sans Pro, sans-serif", size=13)


# Lines that are no dimension (fields, checks) each get their own colour, in the order they are drawn.
SERIES_COLORS = ("#2E6FBA", "#D9822B", "#2E9E6B", "#C2415B", "#8A5CC2", "#0F8B8D", "#B5651D", "#7A869A",
                 "#E0A100", "#5B8C5A")


def color_for(series_name: str, position: int | None = None) -> str:
    """The colour of a dimension, the overall ink, or (given its position) a line's own colour."""
    if series_name in DIMENSION_COLORS or position is None:
        return DIMENSION_COLORS.get(series_name, OVERALL_COLOR)
    return SERIES_COLORS[position % len(SERIES_COLORS)]


def _layout(fig: go.Figure, height: int = 360, y_title: str = "Score") -> go.Figure:
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), font=FONT, hovermode="x unified",
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0), plot_bgcolor="white")
    fig.update_yaxes(title=y_title, gridcolor="#E5E7EB", zeroline=False)
    fig.update_xaxes(gridcolor="#F3F4F6")
    return fig


def mark_annotations(fig: go.Figure, annotations: pd.DataFrame, highlight: int | None = None) -> go.Figure:
    """Dashed vertical lines for interventions, labelled with their names."""
    if annotations is None or annotations.empty:
        return fig
    for row in annotations.itertuples():
        strong = highlight is not None and row.id == highlight
        x = pd.Timestamp(row.date).to_pydatetime()
        fig.add_shape(type="line", x0=x, x1=x, y0=0, y1=1, yref="paper",
                      line=dict(color="#B91C1C" if strong else ANNOTATION_COLOR, width=2 if strong else 1, dash="dash"))
        fig.add_annotation(x=x, y=1, yref="paper", text=f"✎ {row.name}", showarrow=False, xanchor="left",
                           yanchor="top", font=dict(size=11, color="#B91C1C" if strong else ANNOTATION_COLOR),
                           bgcolor="rgba(255,255,255,0.8)")
    return fig


SELECTED_COLOR = "#111827"


def mark_selected(fig: go.Figure, as_of, label: str) -> go.Figure:
    """A dotted vertical line at the run the pages show (picked in the sidebar)."""
    if as_of is None or pd.isna(as_of):
        return fig
    x = pd.Timestamp(as_of).to_pydatetime()
    fig.add_shape(type="line", x0=x, x1=x, y0=0, y1=1, yref="paper",
                  line=dict(color=SELECTED_COLOR, width=1, dash="dot"))
    fig.add_annotation(x=x, y=0, yref="paper", text=label, showarrow=False, xanchor="right", yanchor="bottom",
                       font=dict(size=11, color=SELECTED_COLOR), bgcolor="rgba(255,255,255,0.8)")
    return fig


def _time_axis(fig: go.Figure, when: pd.Series) -> go.Figure:
    """Days on the time axis, also when every point sits on one day (plotly would count milliseconds)."""
    if when is None:
        return fig
    times = pd.to_datetime(when).dropna()
    if len(times) and times.max() - times.min() < pd.Timedelta(days=2):
        mid = times.min() + (times.max() - times.min()) / 2
        fig.update_xaxes(range=[(mid - pd.Timedelta(days=3)).to_pydatetime(),
                                (mid + pd.Timedelta(days=3)).to_pydatetime()], tickformat="%Y-%m-%d", dtick=86_400_000)
    return fig


ANOMALY_COLOR = "#B91C1C"


def _mark_anomalies(fig: go.Figure, series: pd.DataFrame) -> None:
    """The expected range of a lone line as a band, and every point outside its range as a red ring."""
    names = series.series.unique()
    if len(names) == 1 and series.low.notna().any():
        band = series.sort_values("as_of")
        fig.add_trace(go.Scatter(x=band.as_of, y=band.high, mode="lines", line=dict(width=0), showlegend=False,
                                 hoverinfo="skip", name="expected range"))
        fig.add_trace(go.Scatter(x=band.as_of, y=band.low, mode="lines", line=dict(width=0), fill="tonexty",
                                 fillcolor="rgba(46,111,186,0.12)", name="expected range", hoverinfo="skip"))
    odd = series[series.anomaly.fillna(False).astype(bool)]
    if len(odd):
        fig.add_trace(go.Scatter(
            x=odd.as_of, y=odd.value, mode="markers", name="outside its learned range",
            marker=dict(size=12, color="rgba(0,0,0,0)", line=dict(color=ANOMALY_COLOR, width=2)),
            customdata=odd[["series", "kind", "low", "high"]].to_numpy(),
            hovertemplate="%{customdata[0]}: %{y:.4g} — %{customdata[1]} (expected %{customdata[2]:.4g}–"
                          "%{customdata[3]:.4g})<extra></extra>"))


def trend_chart(series: pd.DataFrame, annotations: pd.DataFrame | None = None, y_title: str = "Score",
                highlight: int | None = None, height: int = 360, selected=None,
                selected_label: str = "shown run") -> go.Figure:
    """Lines over runs; `series` has columns as_of, series, value (one line per series).

    `selected` is the as-of time of the run the pages show: a dotted line marks it.
    """
    fig = go.Figure()
    for position, (name, g) in enumerate(series.groupby("series", sort=False)):
        g = g.sort_values("as_of")
        fig.add_trace(go.Scatter(
            x=g.as_of, y=g.value, name=str(name), mode="lines+markers" if len(g) <= 60 else "lines",
            line=dict(color=color_for(str(name), None if name == "overall" else position),
                      width=3 if name == "overall" else 2),
            marker=dict(size=5), hovertemplate="%{y:.1f}"))
    if "anomaly" in series:
        _mark_anomalies(fig, series)
    if y_title == "Score" and not series.empty:
        low = max(0.0, float(series.value.min()) - 2)
        fig.update_yaxes(range=[low, 100.5])
    fig = _time_axis(mark_annotations(_layout(fig, height, y_title), annotations, highlight), series.get("as_of"))
    return mark_selected(fig, selected, selected_label) if selected is not None else fig


def dimension_bars(frame: pd.DataFrame) -> go.Figure:
    """Horizontal bars of each dimension's score; `frame` has dimension, score."""
    frame = frame.sort_values("dimension")
    fig = go.Figure(go.Bar(x=frame.score, y=frame.dimension, orientation="h",
                           marker_color=[color_for(d) for d in frame.dimension],
                           text=[f"{s:.1f}" for s in frame.score], textposition="inside"))
    fig.update_xaxes(range=[0, 100])
    return _layout(fig, 240, "")


def before_after_bars(frame: pd.DataFrame) -> go.Figure:
    """Paired bars per dimension: `frame` has dimension, before, after."""
    fig = go.Figure()
    fig.add_trace(go.Bar(x=frame.dimension, y=frame.before, name="before", marker_color="#CBD5E1",
                         text=[f"{v:.1f}" for v in frame.before], textposition="outside"))
    fig.add_trace(go.Bar(x=frame.dimension, y=frame.after, name="after",
                         marker_color=[color_for(d) for d in frame.dimension],
                         text=[f"{v:.1f}" for v in frame.after], textposition="outside"))
    low = max(0.0, float(pd.concat([frame.before, frame.after]).min()) - 5) if len(frame) else 0
    fig.update_yaxes(range=[low, 101])
    fig.update_layout(barmode="group")
    return _layout(fig, 320)


def decay_chart(buckets: pd.DataFrame) -> go.Figure:
    """Stacked areas of the share of records per age bucket over runs.

    `buckets` has as_of, bucket, share (0-1), in bucket order youngest first.
    """
    fig = go.Figure()
    order = list(dict.fromkeys(buckets.bucket))
    for i, bucket in enumerate(order):
        g = buckets[buckets.bucket == bucket].sort_values("as_of")
        fig.add_trace(go.Scatter(x=g.as_of, y=g.share * 100, name=bucket, stackgroup="age", mode="lines",
                                 line=dict(width=0.5, color=AGE_COLORS[i % len(AGE_COLORS)]),
                                 hovertemplate="%{y:.1f}%"))
    fig.update_yaxes(range=[0, 100], ticksuffix="%")
    return _layout(fig, 340, "Share of records")
