using System.Globalization;
using System.Xml.Linq;
using ScottPlot;

namespace DiscreteGrad.Experiments.Reporting;

/// <summary>
/// The one style of every plot of the reports: series colours from Paul Tol's colour-blind-safe "muted" qualitative
/// scheme (nine colours; P. Tol, "Colour Schemes", SRON technical note SRON/EPS/TN/09-002, 2021), a line pattern per
/// round of nine (solid, dashed, dotted, densely dashed) so that 36 series stay apart, and a marker per further round;
/// the legend outside the data area; every plot saved as PNG with an SVG of the same name beside it.
/// </summary>
public static class ReportPlotStyle
{
    /// <summary>Tol's muted scheme: rose, indigo, sand, green, cyan, wine, teal, olive, purple.</summary>
    public static IReadOnlyList<Color> Colors { get; } = new[]
    {
        "#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99", "#999933", "#AA4499",
    }.Select(Color.FromHex).ToArray();

    /// <summary>The line patterns, one per round of <see cref="Colors"/>.</summary>
    public static IReadOnlyList<LinePattern> Patterns { get; } = new[] { LinePattern.Solid, LinePattern.Dashed, LinePattern.Dotted, LinePattern.DenselyDashed };

    /// <summary>Markers for the series past <see cref="Colors"/> x <see cref="Patterns"/> (none before).</summary>
    public static IReadOnlyList<MarkerShape> Markers { get; } = new[]
    {
        MarkerShape.None, MarkerShape.FilledCircle, MarkerShape.OpenSquare, MarkerShape.FilledTriangleUp, MarkerShape.OpenDiamond, MarkerShape.Cross,
    };

    /// <summary>
    /// The look of series <paramref name="index"/> (0-based): colour index % 9, pattern (index / 9) % 4, marker
    /// (index / 36) % 6, so the first 216 series are all different.
    /// </summary>
    public static (Color Color, LinePattern Pattern, MarkerShape Marker) Series(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        int c = Colors.Count, p = Patterns.Count;
        return (Colors[index % c], Patterns[index / c % p], Markers[index / (c * p) % Markers.Count]);
    }

    /// <summary>Gives a line series the look of <see cref="Series"/>.</summary>
    public static void Apply(ScottPlot.Plottables.Scatter scatter, int index)
    {
        ArgumentNullException.ThrowIfNull(scatter);
        var (color, pattern, marker) = Series(index);
        scatter.Color = color;
        scatter.LinePattern = pattern;
        scatter.MarkerShape = marker;
        scatter.MarkerSize = marker == MarkerShape.None ? 0 : 6;
    }

    /// <summary>Shows the legend outside the data area, at <paramref name="edge"/> (a plot without labelled items shows none).</summary>
    public static void PlaceLegend(Plot plot, Edge edge = Edge.Right)
    {
        ArgumentNullException.ThrowIfNull(plot);
        plot.ShowLegend(edge);
    }

    /// <summary>The SVG path beside a PNG path (same name, extension .svg).</summary>
    public static string SvgBeside(string pngPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(pngPath);
        return Path.ChangeExtension(pngPath, ".svg");
    }

    /// <summary>Saves <paramref name="plot"/> as PNG at <paramref name="pngPath"/> and as SVG beside it, creating the folder; returns both paths.</summary>
    public static IReadOnlyList<string> Save(Plot plot, string pngPath, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(plot);
        CheckSize(width, height);
        CreateFolder(pngPath);
        plot.SavePng(pngPath, width, height);
        string svg = SvgBeside(pngPath);
        plot.SaveSvg(svg, width, height);
        return new[] { pngPath, svg };
    }

    /// <summary>
    /// Saves <paramref name="panels"/> laid out row by row in <paramref name="columns"/> columns (the last row possibly
    /// incomplete) as one PNG, with ScottPlot's <see cref="Multiplot"/>, and as one SVG beside it (each panel's SVG nested
    /// at its place); returns both paths. The panels stay owned by the caller.
    /// </summary>
    public static IReadOnlyList<string> SavePanels(IReadOnlyList<Plot> panels, string pngPath, int columns, int panelWidth, int panelHeight)
    {
        ArgumentNullException.ThrowIfNull(panels);
        if (panels.Count == 0) throw new ArgumentException("need at least one panel.", nameof(panels));
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        CheckSize(panelWidth, panelHeight);
        int cols = Math.Min(columns, panels.Count);
        int rows = (panels.Count + cols - 1) / cols;
        CreateFolder(pngPath);

        var multiplot = new Multiplot();
        multiplot.RemovePlot(multiplot.GetPlot(0));            // a new Multiplot starts with one empty plot
        foreach (var p in panels) multiplot.AddPlot(p);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, cols);
        multiplot.SavePng(pngPath, cols * panelWidth, rows * panelHeight);

        XNamespace ns = "http://www.w3.org/2000/svg";
        var root = new XElement(ns + "svg", new XAttribute("width", cols * panelWidth), new XAttribute("height", rows * panelHeight),
            new XAttribute(XNamespace.Xmlns + "xlink", "http://www.w3.org/1999/xlink"));
        for (int i = 0; i < panels.Count; i++)
        {
            var panel = XElement.Parse(panels[i].GetSvgXml(panelWidth, panelHeight));
            panel.SetAttributeValue("x", (i % cols * panelWidth).ToString(CultureInfo.InvariantCulture));
            panel.SetAttributeValue("y", (i / cols * panelHeight).ToString(CultureInfo.InvariantCulture));
            root.Add(panel);
        }
        string svg = SvgBeside(pngPath);
        new XDocument(new XDeclaration("1.0", "utf-8", null), root).Save(svg);
        return new[] { pngPath, svg };
    }

    private static void CheckSize(int width, int height)
    {
        if (width < 100) throw new ArgumentOutOfRangeException(nameof(width), width, "a plot must be at least 100 pixels wide.");
        if (height < 100) throw new ArgumentOutOfRangeException(nameof(height), height, "a plot must be at least 100 pixels high.");
    }

    private static void CreateFolder(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
    }
}
