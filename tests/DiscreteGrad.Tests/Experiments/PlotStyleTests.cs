using System.Xml.Linq;
using DiscreteGrad.Experiments.Reporting;
using ScottPlot;

namespace DiscreteGrad.Tests.Experiments;

/// <summary>The reports' shared plot style: distinct looks for many series, legend outside, SVG beside PNG, constant series left out.</summary>
public sealed class PlotStyleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-plotstyle-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static LineSeries Ramp(int i, int points = 5) =>
        new($"series {i}", Enumerable.Range(0, points).Select(x => (double)x).ToArray(), Enumerable.Range(0, points).Select(x => x * (i + 1.0)).ToArray());

    private static List<ScottPlot.Plottables.Scatter> Lines(Plot plot) => plot.GetPlottables().OfType<ScottPlot.Plottables.Scatter>().ToList();

    [Fact]
    public void Ten_series_get_ten_distinct_colour_and_pattern_pairs_from_the_nine_colour_palette()
    {
        using var plot = LinePlot.Create(new LinePlotLayout("t", "x", "y"), Enumerable.Range(0, 10).Select(i => Ramp(i)).ToArray());
        var lines = Lines(plot);
        Assert.Equal(10, lines.Count);
        Assert.Equal(10, lines.Select(l => (l.Color, l.LinePattern)).Distinct().Count());
        // The nine colours first, solid; the tenth repeats the first colour, dashed.
        Assert.Equal(9, lines.Take(9).Select(l => l.Color).Distinct().Count());
        Assert.All(lines.Take(9), l => Assert.Equal(LinePattern.Solid, l.LinePattern));
        Assert.Equal(lines[0].Color, lines[9].Color);
        Assert.Equal(LinePattern.Dashed, lines[9].LinePattern);
        Assert.All(lines, l => Assert.Contains(l.Color, ReportPlotStyle.Colors));
        // Every look up to 9 colours x 4 patterns x 6 markers differs.
        var looks = Enumerable.Range(0, 216).Select(ReportPlotStyle.Series).ToList();
        Assert.Equal(216, looks.Distinct().Count());
        Assert.Equal(looks[0], ReportPlotStyle.Series(216));
        Assert.Throws<ArgumentOutOfRangeException>(() => ReportPlotStyle.Series(-1));
    }

    [Fact]
    public void The_legend_is_outside_the_data_area()
    {
        using var plot = LinePlot.Create(new LinePlotLayout("t", "x", "y"), new[] { Ramp(0), Ramp(1) });
        Assert.False(plot.Legend.IsVisible);   // no legend drawn over the data
        var panel = Assert.Single(plot.Axes.GetPanels().OfType<ScottPlot.Panels.LegendPanel>());
        Assert.Equal(Edge.Right, panel.Edge);
        using var below = LinePlot.Create(new LinePlotLayout("t", "x", "y", Legend: Edge.Bottom), new[] { Ramp(0) });
        Assert.Equal(Edge.Bottom, Assert.Single(below.Axes.GetPanels().OfType<ScottPlot.Panels.LegendPanel>()).Edge);
    }

    [Fact]
    public void Saving_writes_an_svg_beside_every_png()
    {
        string png = Path.Combine(_dir, "sub", "plot.png");
        var written = LinePlot.SavePng(png, new LinePlotLayout("t", "x", "y", Width: 400, Height: 300), new[] { Ramp(0), Ramp(1) });
        string svg = Path.Combine(_dir, "sub", "plot.svg");
        Assert.Equal(new[] { png, svg }, written);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(png).Take(4).ToArray());
        var root = XDocument.Load(svg).Root!;
        Assert.Equal("svg", root.Name.LocalName);
        Assert.Equal("400", root.Attribute("width")!.Value);
        Assert.Equal("300", root.Attribute("height")!.Value);
        Assert.Contains("series 1", root.ToString());   // the legend's text is in the SVG

        // A panel grid: one PNG of the whole grid and one SVG with each panel nested at its place.
        var panels = Enumerable.Range(0, 3).Select(i => LinePlot.Create(new LinePlotLayout($"panel {i}", "x", "y"), new[] { Ramp(i) })).ToList();
        try
        {
            string grid = Path.Combine(_dir, "grid.png");
            Assert.Equal(new[] { grid, Path.Combine(_dir, "grid.svg") }, ReportPlotStyle.SavePanels(panels, grid, columns: 2, panelWidth: 300, panelHeight: 200));
            var bytes = File.ReadAllBytes(grid);
            Assert.Equal(600, (bytes[16] << 24) | (bytes[17] << 16) | (bytes[18] << 8) | bytes[19]);
            Assert.Equal(400, (bytes[20] << 24) | (bytes[21] << 16) | (bytes[22] << 8) | bytes[23]);
            var outer = XDocument.Load(Path.Combine(_dir, "grid.svg")).Root!;
            var nested = outer.Elements().Where(e => e.Name.LocalName == "svg").ToList();
            Assert.Equal(new[] { ("0", "0"), ("300", "0"), ("0", "200") }, nested.Select(e => (e.Attribute("x")!.Value, e.Attribute("y")!.Value)));
            Assert.Contains("panel 2", outer.ToString());
        }
        finally
        {
            foreach (var p in panels) p.Dispose();
        }
    }

    [Fact]
    public void A_constant_series_is_left_out_when_asked_and_a_plot_of_only_constants_is_not_written()
    {
        var x = new double[] { 0, 1, 2, 3 };
        var tau = new LineSeries("tau", x, new[] { 0.5, 0.5, 0.5, 0.5 });
        var loss = new LineSeries("loss", x, new[] { 3.0, 2.0, 1.5, 1.2 });
        Assert.True(LinePlot.IsConstant(tau));
        Assert.False(LinePlot.IsConstant(loss));
        Assert.False(LinePlot.IsConstant(tau with { Lower = new[] { 0.4, 0.4, 0.3, 0.4 }, Upper = new[] { 0.6, 0.6, 0.7, 0.6 } }));   // its band varies
        Assert.True(LinePlot.IsConstant(new LineSeries("one point", new[] { 0.0, 1 }, new[] { 1.0, double.NaN })));

        using (var plot = LinePlot.Create(new LinePlotLayout("t", "x", "y", SkipConstant: true), new[] { tau, loss }))
        {
            var line = Assert.Single(Lines(plot));
            Assert.Equal("loss", line.LegendText);
            Assert.Equal(ReportPlotStyle.Series(1).Color, line.Color);   // the look of its place, whatever was left out before it
        }
        using (var all = LinePlot.Create(new LinePlotLayout("t", "x", "y"), new[] { tau, loss }))
            Assert.Equal(2, Lines(all).Count);                           // kept when not asked: a flat line can be a result

        string png = Path.Combine(_dir, "tau.png");
        Assert.Empty(LinePlot.SavePng(png, new LinePlotLayout("t", "x", "y", SkipConstant: true), new[] { tau }));
        Assert.False(File.Exists(png));
        Assert.False(File.Exists(Path.Combine(_dir, "tau.svg")));
    }
}
