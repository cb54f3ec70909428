using System.Globalization;
using System.Net;
using System.Text;

namespace Funnels.Admin.Charts;

/// <summary>
/// A bar chart drawn on the server as SVG: no script, no CDN, works offline and in screenshots;
/// its title and per-bar titles keep the numbers available to screen readers.
/// </summary>
public sealed record BarChart(string Title, IReadOnlyList<Bar> Bars, int Width = 640, int Height = 180)
{
    private const int Gutter = 24;

    public string ToSvg()
    {
        var max = Math.Max(1, Bars.Count == 0 ? 1 : Bars.Max(b => b.Value));
        var slot = Bars.Count == 0 ? 0 : (Width - Gutter) / (double)Bars.Count;
        var plot = Height - 2 * Gutter;
        var baseline = Height - Gutter;
        var svg = new StringBuilder();
        svg.Append($"""<svg viewBox="0 0 {Width} {Height}" role="img" aria-label="{E(Title)}" width="100%"><title>{E(Title)}</title>""");
        svg.Append($"""<line x1="{Gutter}" x2="{Width}" y1="{baseline}" y2="{baseline}" class="axis"/>""");
        for (var i = 0; i < Bars.Count; i++)
        {
            var bar = Bars[i];
            var height = plot * bar.Value / max;
            var center = Gutter + i * slot + slot / 2;
            svg.Append($"""<rect x="{F(Gutter + i * slot + slot * 0.1)}" y="{F(baseline - height)}" width="{F(slot * 0.8)}" height="{F(height)}" class="bar {bar.Accent}"><title>{E(bar.Label)}: {F(bar.Value)}</title></rect>""");
            if (Bars.Count <= 16 || i % 2 == 0)
            {
                svg.Append($"""<text x="{F(center)}" y="{baseline + 14}" text-anchor="middle" class="label">{E(bar.Label)}</text>""");
            }
            if (bar.Value > 0)
            {
                svg.Append($"""<text x="{F(center)}" y="{F(baseline - height - 3)}" text-anchor="middle" class="value">{F(bar.Value)}</text>""");
            }
        }
        return svg.Append("</svg>").ToString();
    }

    private static string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

    private static string E(string text) => WebUtility.HtmlEncode(text);
}

public sealed record Bar(string Label, double Value, string? Accent = null);
