using ScottPlot;

namespace DiscreteGrad.Experiments.Figures;

/// <summary>Saves several ScottPlot plots as the panels of one PNG, row by row, with ScottPlot's <see cref="Multiplot"/>.</summary>
public static class PanelGrid
{
    /// <summary>
    /// Lays out <paramref name="panels"/> in a grid of <paramref name="columns"/> columns (as many rows as needed, the last
    /// row possibly incomplete) and saves it as one PNG, creating the directory. The panels stay owned by the caller.
    /// </summary>
    /// <param name="path">PNG file to write.</param>
    /// <param name="panels">The plots, in reading order.</param>
    /// <param name="columns">Panels per row, &gt;= 1.</param>
    /// <param name="panelWidth">Width of one panel in pixels, &gt;= 100.</param>
    /// <param name="panelHeight">Height of one panel in pixels, &gt;= 100.</param>
    public static void SavePng(string path, IReadOnlyList<Plot> panels, int columns, int panelWidth, int panelHeight)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(panels);
        if (panels.Count == 0) throw new ArgumentException("need at least one panel.", nameof(panels));
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(panelWidth, 100);
        ArgumentOutOfRangeException.ThrowIfLessThan(panelHeight, 100);
        int cols = Math.Min(columns, panels.Count);
        int rows = (panels.Count + cols - 1) / cols;

        var multiplot = new Multiplot();
        multiplot.RemovePlot(multiplot.GetPlot(0));            // a new Multiplot starts with one empty plot
        foreach (var p in panels) multiplot.AddPlot(p);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, cols);

        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        multiplot.SavePng(path, cols * panelWidth, rows * panelHeight);
    }
}
