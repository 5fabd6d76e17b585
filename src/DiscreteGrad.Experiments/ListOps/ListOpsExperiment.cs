using System.Globalization;
using System.Text;
using DiscreteGrad.Experiments.Reporting;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// The <c>listops</c> experiment (David Friede and Mathias Niepert, "Efficient Learning of Discrete-Continuous Computation
/// Graphs", NeurIPS 2021, Figure 1 bottom and Figure 6): one <see cref="ListOpsTask"/> per scheme and seed on the
/// <see cref="DccgListOpsRecipe"/>'s data (generated in each cell's process from <see cref="ListOpsConfig.DataSeed"/>). The
/// report's table gives per scheme, mean +- std over seeds, the final dev and test accuracy, the test accuracy at the
/// evaluation with the best dev accuracy (the reference's model selection), test accuracy per depth, parent-edge recall,
/// intermediate-value accuracy, the depth-8 / depth-10 extrapolation accuracy (8 and 10 rounds), the <c>--test-file</c>
/// accuracy and seconds per epoch; its own section draws Figure 6 (mean |dL/dx^r| per round r, one line per scheme, log y)
/// at the first and at the last evaluation, with the values as a table.
/// </summary>
public sealed class ListOpsExperiment : Experiment<ListOpsConfig>
{
    private static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    /// <inheritdoc />
    public override string Name => "listops";
    /// <inheritdoc />
    public override string Description => "ListOps with the DCCG network (DCCG paper, Fig. 1 bottom and Fig. 6): schemes x seeds, accuracy, extrapolation and per-round gradients.";
    /// <inheritdoc />
    public override string Title => "ListOps, DCCG network (DCCG paper, Figure 1 bottom and Figure 6)";
    /// <inheritdoc />
    public override string Label(ListOpsConfig config) => ListOpsSchemes.Display(config.Scheme);
    /// <inheritdoc />
    public override long LogEvery(ListOpsConfig config) => 100;
    /// <inheritdoc />
    public override long CheckpointEvery(ListOpsConfig config) => 500;

    /// <summary>The test accuracy of the evaluation with the highest dev accuracy (the first such), NaN without evaluations.</summary>
    public static double TestAtBestDev(CellOutcome o, string dev = "dev_accuracy", string test = "test_accuracy")
    {
        ArgumentNullException.ThrowIfNull(o);
        MetricsRecord? best = null;
        foreach (var r in o.Records.Where(r => r.Kind == "eval" && r.Metrics.ContainsKey(dev) && r.Metrics.ContainsKey(test)))
            if (best is null || r.Metrics[dev] > best.Metrics[dev]) best = r;
        return best?.Metrics[test] ?? double.NaN;
    }

    /// <inheritdoc />
    public override IReadOnlyList<SummaryMetric> Metrics { get; } = new[]
    {
        SummaryMetric.FinalEval("dev acc", "dev_accuracy"),
        SummaryMetric.FinalEval("test acc", "test_accuracy"),
        new SummaryMetric("test acc at best dev", o => TestAtBestDev(o)),
        SummaryMetric.FinalEval("depth 1", "test_depth1"),
        SummaryMetric.FinalEval("depth 2", "test_depth2"),
        SummaryMetric.FinalEval("depth 3", "test_depth3"),
        SummaryMetric.FinalEval("depth 4", "test_depth4"),
        SummaryMetric.FinalEval("depth 5", "test_depth5"),
        SummaryMetric.FinalEval("parent recall", "test_parent_recall"),
        SummaryMetric.FinalEval("intermediate acc", "test_intermediate_accuracy"),
        SummaryMetric.FinalEval("depth 8 (8 rounds)", "extrapolation8_accuracy"),
        SummaryMetric.FinalEval("depth 10 (10 rounds)", "extrapolation10_accuracy"),
        SummaryMetric.FinalEval("test-file acc", "file_accuracy"),
        SummaryMetric.SecondsPerEpoch(),
    };

    /// <inheritdoc />
    public override IReadOnlyList<CurveSpec> Curves { get; } = new[]
    {
        new CurveSpec("dev-accuracy", "ListOps (DCCG): dev accuracy, hard samples (mean +- std over seeds)", "dev_accuracy", XMetric: "epoch", XLabel: "epoch"),
        new CurveSpec("test-accuracy", "ListOps (DCCG): test accuracy, hard samples (mean +- std over seeds)", "test_accuracy", XMetric: "epoch", XLabel: "epoch"),
    };

    /// <inheritdoc />
    public override string PaperReference =>
        "Paper (Friede and Niepert 2021, Figure 1 bottom, Figure 6; the figures' values are not transcribed here): the discrete " +
        "ListOps network trained with the plain Gumbel-softmax (Base) learns poorly, TempMatch and DropRes make it trainable, and the " +
        "discrete-continuous model generalises better than the continuous one to the deeper depth-8 and depth-10 expressions; " +
        "Figure 6 shows the gradient reaching the node states of each round, which is small in the early rounds without the two strategies.";

    /// <summary>Generates the recipe's data from the data seed, reads the test file, and builds the task on the run's device.</summary>
    protected override ITrainingTask CreateTask(ListOpsConfig config, RunContext context)
    {
        var data = Data(config.DataSeed);
        context.Log($"ListOps (DCCG recipe, data seed {config.DataSeed}): {data.Train.Count} train, {data.Dev.Count} dev, {data.Test.Count} test expressions");
        var file = ListOpsTestFileSetting.IsSet(config.TestFile) ? ListOpsTestFileSetting.Read(config.TestFile, allowSumMod: false) : null;
        return new ListOpsTask(config, data, context.TorchDevice, file);
    }

    private static readonly object CacheGate = new();
    private static (int Seed, ListOpsSplits Data)? _cache;

    /// <summary>
    /// The DCCG recipe's data of a data seed (about 3 CPU s to generate); the last one generated in this process is kept,
    /// so the cells of an in-process grid share it.
    /// </summary>
    public static ListOpsSplits Data(int dataSeed)
    {
        lock (CacheGate)
        {
            if (_cache is { } c && c.Seed == dataSeed) return c.Data;
            var data = new DccgListOpsRecipe().Generate(dataSeed);
            _cache = (dataSeed, data);
            return data;
        }
    }

    /// <summary>The setup paragraph, the metric definitions, and Figure 6 with its table.</summary>
    protected override void WriteSection(IReadOnlyList<(ListOpsConfig Config, CellOutcome Outcome)> cells, GridReportContext report, StringBuilder markdown)
    {
        if (cells.Count == 0) return;
        var c = cells[0].Config;
        markdown.AppendLine("## Setup").AppendLine();
        markdown.AppendLine(
            $"DCCG ListOps network (d = {c.Dim}, {c.Rounds} rounds) on the DCCG recipe's data (data seed {c.DataSeed}): {c.TrainExamples} training, " +
            $"{c.DevExamples} dev and {c.TestExamples} test expressions of depths 1-5, {c.ExtrapolationExamples} of depth 8 and of depth 10. " +
            $"Adam {Fmt(c.LearningRate)}, batch {c.BatchSize} expressions of one length bucket (width {c.BucketWidth}), summed cross-entropy, " +
            $"{c.Epochs} epochs, tau = {Fmt(c.Tau)}; TempMatch beta_t = tau (1 - exp(-{Fmt(c.Gamma)} t)), DropRes alpha_t = min(1, {Fmt(c.AlphaIncrement)} t), " +
            $"{c.UpdatesPerEpoch} schedule updates t per epoch. The reference: 90000 / 10000 / 10000 expressions, 100 epochs, 10 updates per epoch.").AppendLine();
        markdown.AppendLine("*dev / test acc*: accuracy of the expression's value at the last evaluation, with hard samples (parents and digits drawn " +
                            "from Cat(softmax(theta)), beta = 1) and no residual (alpha = 1); *test acc at best dev*: test accuracy at the evaluation with " +
                            "the highest dev accuracy; *depth k*: test accuracy on the depth-k expressions; *parent recall*: fraction of tokens (not the root, " +
                            "not ']') whose drawn parent is the true one; *intermediate acc*: fraction of operators (not the root) whose value read out from " +
                            "the final node state is right; *depth 8 / 10*: accuracy on the extrapolation sets with as many rounds as the depth (same " +
                            "weights); *test-file acc*: the final model on --test-file.").AppendLine();
        WriteFigure6(cells, report, markdown);
    }

    /// <summary>Figure 6: mean |dL/dx^r| per round, one line per scheme (mean over seeds), at the first and the last evaluation.</summary>
    private static void WriteFigure6(IReadOnlyList<(ListOpsConfig Config, CellOutcome Outcome)> cells, GridReportContext report, StringBuilder markdown)
    {
        var probed = cells.Where(x => x.Config.ProbeExamples > 0).ToList();
        if (probed.Count == 0) return;
        int rounds = probed.Max(x => x.Config.Rounds);
        markdown.AppendLine("## Gradients per round (Figure 6)").AppendLine();
        markdown.AppendLine($"At every evaluation, on a fixed probe batch (the first {probed[0].Config.ProbeExamples} training expressions, padded), in " +
                            "training mode at the run's current tau, beta and alpha with fixed probe draws: the mean over real tokens and features of " +
                            "|dL/dx^r|, L the summed training cross-entropy and x^r the node states after round r. Mean over seeds; log scale.").AppendLine();
        foreach (var (which, file) in new[] { ("first", "gradients-first.png"), ("last", "gradients-last.png") })
        {
            var rows = new List<IReadOnlyList<string>>();
            var series = new List<LineSeries>();
            string? at = null;
            foreach (var g in probed.GroupBy(x => x.Outcome.Cell.Group))
            {
                var records = g.Select(x => x.Outcome.Records.Where(r => r.Kind == "eval" && r.Metrics.ContainsKey("grad_round1")).ToList())
                    .Where(rs => rs.Count > 0).Select(rs => which == "first" ? rs[0] : rs[^1]).ToList();
                if (records.Count == 0) continue;
                at ??= $"step {records[0].Step} (epoch {records[0].Metrics.GetValueOrDefault("epoch").ToString("0.##", Culture)})";
                var ys = Enumerable.Range(1, rounds).Select(r => Statistics.Mean(records.Select(rec => rec.Metrics.GetValueOrDefault($"grad_round{r}", double.NaN))
                    .Where(double.IsFinite).DefaultIfEmpty(double.NaN).ToList())).ToArray();
                series.Add(new LineSeries($"{g.Key} ({records.Count} seed{(records.Count == 1 ? "" : "s")})", Enumerable.Range(1, rounds).Select(r => (double)r).ToArray(), ys));
                rows.Add(new[] { g.Key, records.Count.ToString(Culture) }.Concat(ys.Select(y => double.IsFinite(y) ? y.ToString("E2", Culture) : "-")).ToArray());
            }
            if (series.Count == 0) continue;
            string png = report.AssetPrefix + file;
            LinePlot.SavePng(Path.Combine(report.AssetsDirectory, png),
                new LinePlotLayout($"ListOps: mean |dL/dx^r| per round at the {which} evaluation", "round r", "mean |dL/dx^r|", LogY: true), series);
            markdown.AppendLine($"At the {which} evaluation, {at}:").AppendLine();
            markdown.AppendLine($"![gradients per round, {which} evaluation]({png})").AppendLine();
            markdown.Append(MarkdownTable.Render(new[] { "run", "seeds" }.Concat(Enumerable.Range(1, rounds).Select(r => $"round {r}")).ToArray(), rows));
            markdown.AppendLine();
        }
    }

    private static string Fmt(double v) => v.ToString("G6", Culture);
}
