using DiscreteGrad.Experiments.Reporting;
using ScottPlot;

namespace DiscreteGrad.Experiments.L2x;

/// <summary>
/// An explained review: its words in reading order, wrapped into lines; the ground-truth rationale (the aspect's sentence)
/// on a grey band, the k selected tokens in bold colour on a coloured box; the title gives the precision and the ratings.
/// </summary>
public static class L2xReviewPicture
{
    /// <summary>Characters per line of the layout.</summary>
    public const int LineWidth = 80;

    /// <summary>Saves the picture as PNG (and SVG beside it); returns the paths.</summary>
    /// <param name="path">PNG path.</param>
    /// <param name="title">First title line (method, k, aspect).</param>
    /// <param name="words">The review's words.</param>
    /// <param name="rationale">Per word, whether it is in the rationale.</param>
    /// <param name="selected">Per word, whether it was selected.</param>
    /// <param name="predicted">Predicted rating.</param>
    /// <param name="rating">True rating.</param>
    public static IReadOnlyList<string> Save(string path, string title, IReadOnlyList<string> words, IReadOnlyList<bool> rationale,
        IReadOnlyList<bool> selected, double predicted, double rating)
    {
        ArgumentNullException.ThrowIfNull(words);
        ArgumentNullException.ThrowIfNull(rationale);
        ArgumentNullException.ThrowIfNull(selected);
        if (words.Count == 0 || rationale.Count != words.Count || selected.Count != words.Count)
            throw new ArgumentException($"words, rationale and selected must have the same length >= 1 (got {words.Count}, {rationale.Count}, {selected.Count}).", nameof(words));
        using var plot = new Plot();
        var color = ReportPlotStyle.Colors[0];
        int line = 0, column = 0, hits = 0, k = 0;
        for (int i = 0; i < words.Count; i++)
        {
            int width = words[i].Length + 1;
            if (column > 0 && column + width > LineWidth) { line++; column = 0; }
            double left = column, right = column + width - 0.2, top = -line * 1.6 + 0.6, bottom = -line * 1.6 - 0.6;
            if (rationale[i])
            {
                var band = plot.Add.Rectangle(left - 0.1, column + width + 0.1, bottom - 0.1, top + 0.1);
                band.FillStyle.Color = Colors.Gray.WithAlpha(0.3);
                band.LineStyle.Width = 0;
            }
            if (selected[i])
            {
                var box = plot.Add.Rectangle(left, right, bottom, top);
                box.FillStyle.Color = color.WithAlpha(0.25);
                box.LineStyle.Color = color;
                box.LineStyle.Width = 1.5f;
                k++;
                if (rationale[i]) hits++;
            }
            var text = plot.Add.Text(words[i], column + 0.2, -line * 1.6);
            text.LabelFontName = Fonts.Monospace;
            text.LabelFontSize = 15;
            text.LabelAlignment = Alignment.MiddleLeft;
            text.LabelFontColor = selected[i] ? color.Darken(0.3) : Colors.Black;
            text.LabelBold = selected[i];
            column += width;
        }
        string precision = k == 0 ? "-" : $"{hits} of {k}";
        plot.Title($"{title}\nselected tokens in the rationale: {precision}; predicted rating {predicted:F2}, true {rating:F2}");
        plot.Axes.SetLimits(-1, LineWidth + 1, -line * 1.6 - 1.2, 1.2);
        foreach (var axis in new ScottPlot.IAxis[] { plot.Axes.Left, plot.Axes.Bottom, plot.Axes.Right, plot.Axes.Top }) axis.IsVisible = false;
        plot.HideGrid();
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "rationale (the aspect's sentence)", FillColor = Colors.Gray.WithAlpha(0.3) });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "selected (MAP k-subset)", FillColor = color.WithAlpha(0.25), LineColor = color });
        plot.ShowLegend(Edge.Bottom);
        return ReportPlotStyle.Save(plot, path, 900, 140 + 34 * (line + 1));
    }
}
