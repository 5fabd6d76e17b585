using System.Globalization;
using System.Text;
using System.Text.Json;
using DiscreteGrad.Experiments.Reporting;

namespace DiscreteGrad.Experiments.Runner;

/// <summary>
/// The one report of every experiment, made from whatever cells of a grid have finished (so it can run while the grid is
/// in flight): a table with a row per group of cells that differ only in their seed and a column per declared metric
/// (mean +- sample std over seeds; the value alone for one seed), one PNG per declared curve (mean +- std band per row),
/// the experiment's paper values and section, the command that made the grid, and the cells that are missing or failed.
/// </summary>
public static class GridReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Reads every cell of the grid: state, records, steps and timing.</summary>
    public static IReadOnlyList<CellOutcome> Collect(string grid)
    {
        var file = GridFolder.Read(grid);
        return file.Cells.Select(c =>
        {
            string dir = GridFolder.CellDirectory(grid, c);
            var status = GridFolder.ReadObservedStatus(dir);
            var records = new List<MetricsRecord>();
            string jsonl = Path.Combine(dir, "metrics.jsonl");
            if (File.Exists(jsonl))
                foreach (var line in File.ReadLines(jsonl))
                {
                    if (line.Length == 0) continue;
                    try
                    {
                        records.Add(JsonSerializer.Deserialize<MetricsRecord>(line)!);
                    }
                    catch (JsonException)
                    {
                        break;   // a line being written by a running cell
                    }
                }
            double secondsPerStep = double.NaN;
            string summary = Path.Combine(dir, "summary.json");
            if (File.Exists(summary))
            {
                try
                {
                    using var doc = JsonDocument.Parse(File.ReadAllText(summary));
                    if (doc.RootElement.TryGetProperty("secondsPerStep", out var s) && s.ValueKind == JsonValueKind.Number) secondsPerStep = s.GetDouble();
                }
                catch (JsonException)
                {
                }
            }
            return new CellOutcome(c, dir, status.State, records, status.Steps, secondsPerStep, status.State is "failed" or "interrupted" ? status.Message : null);
        }).ToList();
    }

    /// <summary>The table: header and one row per group (in the order the groups first appear), finished cells only.</summary>
    public static (string[] Header, List<string[]> Rows) Table(IExperiment experiment, IReadOnlyList<CellOutcome> outcomes)
    {
        var header = new[] { "run", experiment.SeedAxis is null ? "cells" : "seeds" }.Concat(experiment.Metrics.Select(m => m.Header)).ToArray();
        var rows = outcomes.Where(o => o.State == "done").GroupBy(o => o.Cell.Group).Select(g =>
        {
            var list = g.ToList();
            return new[] { g.Key, list.Count.ToString(Inv) }
                .Concat(experiment.Metrics.Select(m => MeanStd(list.Select(m.Value).ToList(), m.Format))).ToArray();
        }).ToList();
        return (header, rows);
    }

    /// <summary>
    /// Writes the report: <c>report.md</c> and its PNGs (and SVGs) in the grid folder, and, with <paramref name="docs"/>,
    /// the same markdown at that path with its plots beside it (named after its stem); an existing document there keeps
    /// what <see cref="Merge"/> keeps. Returns the paths written.
    /// </summary>
    public static IReadOnlyList<string> Write(IExperiment experiment, string grid, string? docs = null, string? note = null)
    {
        var outcomes = Collect(grid);
        var written = new List<string>();
        written.AddRange(WriteOne(experiment, grid, outcomes, Path.Combine(grid, "report.md"), "", note));
        if (docs is not null)
        {
            string stem = Path.GetFileNameWithoutExtension(docs);
            written.AddRange(WriteOne(experiment, grid, outcomes, docs, stem + "-", note));
        }
        return written;
    }

    private static List<string> WriteOne(IExperiment experiment, string grid, IReadOnlyList<CellOutcome> outcomes, string markdownPath,
        string prefix, string? note)
    {
        var file = GridFolder.Read(grid);
        string dir = Path.GetDirectoryName(Path.GetFullPath(markdownPath))!;
        Directory.CreateDirectory(dir);
        var written = new List<string>();
        var md = new StringBuilder();
        md.AppendLine($"# {experiment.Title}").AppendLine();
        md.AppendLine(experiment.Description).AppendLine();
        if (!string.IsNullOrWhiteSpace(note)) md.AppendLine(note).AppendLine();
        md.AppendLine("Command:").AppendLine().AppendLine("```bash").AppendLine(file.Command).AppendLine("```").AppendLine();
        var (header, rows) = Table(experiment, outcomes);
        if (rows.Count > 0) md.Append(MarkdownTable.Render(header, rows)).AppendLine();
        int done = outcomes.Count(o => o.State == "done");
        md.AppendLine(experiment.SeedAxis is null
            ? $"{done} of {outcomes.Count} cells finished."
            : $"{done} of {outcomes.Count} cells finished; mean +- sample std over seeds.").AppendLine();
        foreach (var curve in experiment.Curves)
        {
            var series = Series(outcomes, curve);
            if (series.Count == 0) continue;
            string png = prefix + curve.File + ".png";
            written.AddRange(LinePlot.SavePng(Path.Combine(dir, png), new LinePlotLayout(curve.Title, curve.XLabel, curve.Metric.Replace('_', ' '), curve.LogY,
                FitTail: curve.FitTail), series));
            md.AppendLine($"![{curve.Title}]({png})").AppendLine();
        }
        experiment.WriteReport(new GridReportContext(outcomes, dir, prefix), md);
        var notDone = outcomes.Where(o => o.State != "done").ToList();
        if (notDone.Count > 0)
        {
            md.AppendLine("## Cells not finished").AppendLine();
            md.Append(MarkdownTable.Render(new[] { "cell", "state", "steps", "message" },
                notDone.Select(o => (IReadOnlyList<string>)new[] { o.Cell.Label, o.State, o.Steps.ToString(Inv), o.Message ?? "" })));
            md.AppendLine();
        }
        string text = md.ToString();
        // --docs into an existing document: only this experiment's marked section is replaced, others' are kept.
        if (prefix.Length > 0 && File.Exists(markdownPath)) text = Merge(File.ReadAllText(markdownPath), experiment.Name, text);
        GridFolder.WriteAtomically(markdownPath, text);
        written.Insert(0, markdownPath);
        return written;
    }

    /// <summary>The line that opens the section of experiment <paramref name="name"/> in a document: <c>&lt;!-- NAME:begin --&gt;</c>.</summary>
    public static string SectionBegin(string name) => $"<!-- {name}:begin -->";

    /// <summary>The line that closes the section of experiment <paramref name="name"/>: <c>&lt;!-- NAME:end --&gt;</c>.</summary>
    public static string SectionEnd(string name) => $"<!-- {name}:end -->";

    /// <summary>
    /// What <c>--docs PATH</c> writes when PATH exists (<paramref name="existing"/>): when it holds a section of
    /// <paramref name="name"/> (between <see cref="SectionBegin"/> and <see cref="SectionEnd"/>), that document with the
    /// section's content replaced by <paramref name="report"/>, its headings one level deeper (a report's "# Title" becomes
    /// a "## Title" under the document's own title); otherwise <paramref name="report"/>, followed by every section of
    /// another experiment that the existing document holds (so that e.g. <c>vae --docs vae.md</c> keeps the section that
    /// <c>vae-bias --docs vae.md</c> wrote).
    /// </summary>
    public static string Merge(string existing, string name, string report)
    {
        ArgumentNullException.ThrowIfNull(existing);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(report);
        string begin = SectionBegin(name), end = SectionEnd(name);
        int b = existing.IndexOf(begin, StringComparison.Ordinal);
        int e = b < 0 ? -1 : existing.IndexOf(end, b, StringComparison.Ordinal);
        if (b >= 0 && e > b)
            return existing[..(b + begin.Length)] + "\n" + DeeperHeadings(report).TrimEnd('\n') + "\n" + existing[e..];
        var kept = new StringBuilder();
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(existing,
                     @"<!-- (?<name>[A-Za-z0-9_.-]+):begin -->.*?<!-- \k<name>:end -->", System.Text.RegularExpressions.RegexOptions.Singleline))
            if (m.Groups["name"].Value != name) kept.Append('\n').Append(m.Value).Append('\n');
        return kept.Length == 0 ? report : report.TrimEnd('\n') + "\n" + kept;
    }

    /// <summary>Every markdown heading outside code fences one level deeper.</summary>
    private static string DeeperHeadings(string markdown)
    {
        var lines = markdown.Split('\n');
        bool fenced = false;
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].StartsWith("```", StringComparison.Ordinal)) fenced = !fenced;
            else if (!fenced && lines[i].StartsWith('#')) lines[i] = "#" + lines[i];
        }
        return string.Join('\n', lines);
    }

    /// <summary>One line per row of the table: the curve's metric, mean +- std over the row's finished cells, aligned by record.</summary>
    public static List<LineSeries> Series(IReadOnlyList<CellOutcome> outcomes, CurveSpec curve)
    {
        var series = new List<LineSeries>();
        foreach (var g in outcomes.Where(o => o.State == "done").GroupBy(o => o.Cell.Group))
        {
            var curves = g.Select(o => o.Records.Where(r => r.Kind == curve.Kind && r.Metrics.ContainsKey(curve.Metric)).ToList()).ToList();
            int n = curves.Min(c => c.Count);
            if (n == 0) continue;
            var x = Enumerable.Range(0, n).Select(i => curve.XMetric is { } xm && curves[0][i].Metrics.TryGetValue(xm, out var xv) ? xv : curves[0][i].Step).ToArray();
            var ys = Enumerable.Range(0, n).Select(i => curves.Select(c => c[i].Metrics[curve.Metric]).ToList()).ToList();
            var mean = ys.Select(Statistics.Mean).ToArray();
            if (curves.Count > 1)
            {
                var std = ys.Select(Statistics.SampleStd).ToArray();
                series.Add(new LineSeries($"{g.Key} ({curves.Count} seeds)", x, mean,
                    mean.Zip(std, (m, s) => m - s).ToArray(), mean.Zip(std, (m, s) => m + s).ToArray()));
            }
            else series.Add(new LineSeries(g.Key, x, mean));
        }
        return series;
    }

    /// <summary>"m +- s" over the finite values (the value alone for one, "-" for none).</summary>
    public static string MeanStd(IReadOnlyList<double> values, string format)
    {
        var xs = values.Where(double.IsFinite).ToList();
        if (xs.Count == 0) return "-";
        return Statistics.FormatMeanSpread(Statistics.Mean(xs), Statistics.SampleStd(xs), xs.Count, v => v.ToString(format, Inv));
    }
}
