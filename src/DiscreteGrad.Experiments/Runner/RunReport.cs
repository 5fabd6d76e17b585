using System.Globalization;
using System.Text;
using System.Text.Json;
using DiscreteGrad.Experiments.Reporting;

namespace DiscreteGrad.Experiments.Runner;

/// <summary>The files a finished run leaves: <c>summary.json</c>, <c>plots/*.png</c> and <c>report.md</c>.</summary>
public static class RunReport
{
    // NaN / infinity (e.g. seconds per step of an invocation that ran no step, a finished run resumed) are written as
    // the strings "NaN" / "Infinity" instead of failing.
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes <c>summary.json</c>: configuration, command, steps, timing and final metrics.</summary>
    public static void WriteSummary(ITrainingTask task, RunnerOptions options, RunResult result)
    {
        var summary = new
        {
            run = task.Name,
            command = options.Command,
            configuration = task.Configuration,
            steps = result.Steps,
            resumedFrom = result.StartStep,
            wallSeconds = result.WallSeconds,
            // null when this invocation ran no step (resuming a finished run): JSON has no NaN.
            secondsPerStep = double.IsFinite(result.SecondsPerStep) ? result.SecondsPerStep : (double?)null,
            finalTrain = result.FinalTrain,
            finalEval = result.FinalEval,
            // Garbage collections held to window boundaries (a run-cell process), and the windows where they were not.
            collections = new { guarded = result.CollectionsGuarded, windowsUnguarded = result.WindowsUnguarded },
        };
        File.WriteAllText(Path.Combine(result.OutputDirectory, "summary.json"), JsonSerializer.Serialize(summary, Json));
    }

    /// <summary>
    /// One PNG (and SVG) per metric (train and eval) that changes over the run, and a markdown report that embeds them; a
    /// metric with one value throughout (a fixed tau or beta logged each step) gets no plot.
    /// </summary>
    public static void WritePlotsAndMarkdown(ITrainingTask task, RunnerOptions options, RunResult result)
    {
        string plots = Path.Combine(result.OutputDirectory, "plots");
        var images = new List<string>();
        foreach (var kind in new[] { "train", "eval" })
        {
            var recs = result.Records.Where(r => r.Kind == kind).ToList();
            if (recs.Count < 2) continue;
            foreach (var metric in recs.SelectMany(r => r.Metrics.Keys).Distinct().OrderBy(k => k, StringComparer.Ordinal))
            {
                var pts = recs.Where(r => r.Metrics.ContainsKey(metric) && double.IsFinite(r.Metrics[metric])).ToList();
                if (pts.Count < 2) continue;
                string file = $"{kind}-{Sanitize(metric)}.png";
                var written = LinePlot.SavePng(Path.Combine(plots, file), new LinePlotLayout($"{task.Name}: {kind} {metric}", "step", metric, SkipConstant: true),
                    new[] { new LineSeries(metric, pts.Select(p => (double)p.Step).ToArray(), pts.Select(p => p.Metrics[metric]).ToArray()) });
                if (written.Count > 0) images.Add("plots/" + file);
            }
        }
        var md = new StringBuilder();
        md.AppendLine($"# Run {task.Name}").AppendLine();
        if (!string.IsNullOrEmpty(options.Command)) md.AppendLine("Reproduce with:").AppendLine().AppendLine("```bash").AppendLine(options.Command).AppendLine("```").AppendLine();
        md.AppendLine("## Configuration").AppendLine();
        md.Append(MarkdownTable.Render(new[] { "setting", "value" }, task.Configuration.Select(kv => (IReadOnlyList<string>)new[] { kv.Key, kv.Value })));
        md.AppendLine().AppendLine("## Result").AppendLine();
        md.AppendLine($"{result.Steps} steps ({result.Steps - result.StartStep} in this invocation) in {result.WallSeconds.ToString("F1", CultureInfo.InvariantCulture)} s.").AppendLine();
        var rows = result.FinalTrain.Select(kv => (IReadOnlyList<string>)new[] { "train", kv.Key, Fmt(kv.Value) })
            .Concat(result.FinalEval.Select(kv => (IReadOnlyList<string>)new[] { "eval", kv.Key, Fmt(kv.Value) }));
        md.Append(MarkdownTable.Render(new[] { "kind", "metric", "final" }, rows));
        md.AppendLine();
        foreach (var img in images) md.AppendLine($"![{img}]({img})").AppendLine();
        File.WriteAllText(Path.Combine(result.OutputDirectory, "report.md"), md.ToString());
    }

    private static string Fmt(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
    private static string Sanitize(string s) => new(s.Select(c => char.IsLetterOrDigit(c) || c == '-' || c == '_' ? c : '_').ToArray());
}
