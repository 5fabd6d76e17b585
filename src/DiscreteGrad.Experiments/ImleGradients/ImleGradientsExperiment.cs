using System.Text;
using DiscreteGrad.Experiments.Figures;
using DiscreteGrad.Experiments.KSubsetVae;
using DiscreteGrad.Experiments.Reporting;
using DiscreteGrad.Experiments.Runner;
using ScottPlot;
using static DiscreteGrad.Experiments.Figures.FigureOutput;

namespace DiscreteGrad.Experiments.ImleGradients;

/// <summary>
/// AIMLE's synthetic gradient study (<see cref="ImleGradientsStudy"/>) as a grid declaration: one cell per (case n x k,
/// estimator), computed whole by a <see cref="Run"/> override. A cell writes <c>cosine.csv</c> (n, k, method, lambda,
/// cosine_mean, cosine_se, seeds), <c>sgd.csv</c> (n, k, method, step, gap_mean, gap_se, runs; the estimator's rows, then
/// the exact gradient's), <c>result.json</c> (everything it measured) and one "eval" record with its summary. The report
/// adds, per case, a figure (cosine vs lambda, optimality gap vs SGD step), the cosine-vs-lambda table of the fixed-lambda
/// methods, the gap at a few steps and a reading computed from the numbers.
/// </summary>
public sealed class ImleGradientsExperiment : Experiment<ImleGradientsConfig>
{
    /// <summary>File name of a cell's full result.</summary>
    public const string ResultFile = FigureOutput.ResultFile;

    /// <inheritdoc />
    public override string Name => "imle-gradients";
    /// <inheritdoc />
    public override string Description =>
        "AIMLE's synthetic study: cosine similarity of I-MLE (forward, central), AIMLE, STE, SFE and SIMPLE gradient estimates to the " +
        "exact gradient on top-k (enumerating all k-subsets) as lambda varies, under Gumbel or Sum-of-Gamma noise, and the optimality gap over SGD steps.";
    /// <inheritdoc />
    public override string Title => "I-MLE gradient quality on top-k (AIMLE's synthetic study)";
    /// <inheritdoc />
    public override string Label(ImleGradientsConfig config) =>
        $"n = {config.N}, k = {config.K}, {GradientMethods.Label(config.Method)}, {ImleGradientsStudy.NoiseKey(config.Noise)} noise";

    /// <inheritdoc />
    public override IReadOnlyList<SummaryMetric> Metrics { get; } = new[]
    {
        SummaryMetric.FinalEval("cosine (best λ)", "cosine"),
        SummaryMetric.FinalEval("cosine SE", "cosine_se"),
        SummaryMetric.FinalEval("best λ", "best_lambda", "G3"),
        SummaryMetric.FinalEval("AIMLE λ", "aimle_lambda", "G3"),
        SummaryMetric.FinalEval("final gap", "final_gap"),
        SummaryMetric.FinalEval("final gap SE", "final_gap_se"),
        SummaryMetric.FinalEval("exact-gradient final gap", "exact_final_gap"),
    };

    /// <inheritdoc />
    public override string? PaperReference =>
        "Setup (Minervini, Franceschi, Niepert, AAAI 2023, section 5.1; their `cli/gradient-cli.py` and `cli/synth-cli.py`): z is a k-subset " +
        "of n items, loss L(z) = ||z − b||², θ ~ N(0, I_n) and b = |N(0, I_n)| per seed. The true gradient is that of E_{z~p_θ}[L(z)] with " +
        "p_θ(z) ∝ exp(⟨z, θ⟩) over all k-subsets, computed exactly by enumerating the C(n, k) states: ∇E = Σ_z p_θ(z) (L(z) − E) z. " +
        "Perturbation noise at temperature 1 (input and target): Gumbel(0, 1), as the reference's `gradient-cli.py` (its Sum-of-Gamma line is " +
        "commented out), or Sum-of-Gamma(k, s = 10); the estimate is the mean of S per-sample ones. I-MLE forward: (z − MAP(θ − λ dz + ε)) / λ; " +
        "central: (MAP(θ + λ dz + ε) − MAP(θ − λ dz + ε)) / (2λ) (the reference's \"IMLE Sym\"; λ = 0 gives the zero estimate); AIMLE: the same " +
        "with the adaptive λ = β √S ||θ|| / ||dz|| (β from its initial value, ± step per backward pass toward the target number of non-zero " +
        "entries per sample, after the warm-up passes at the same θ); STE: 2 (z − b); SFE (exact sampling): (1/S) Σ L(z_s) (z_s − μ(θ)); " +
        "SFE (PaM, LOO baseline): the library's `ScoreFunctionMap`; SIMPLE (Ahmed et al., ICLR 2023): exact samples of p_θ, gradient " +
        "Cov_p(z) · mean_s 2 (z_s − b) through the exact marginals (`SimpleKSubsetLayer`, no noise, no λ). Cosine: mean ± SE over " +
        "the seeds (an all-zero estimate counts as 0); the optimality gap E_p\\[L\\](θ_t) − min_z L(z) is exact, mean ± SE over the SGD runs. " +
        "The paper's finding: AIMLE central gives the gradients closest to the true one.";

    /// <summary>Runs the cell's study and writes its CSVs, its <c>result.json</c> and its summary record.</summary>
    protected override CellRunResult Run(ImleGradientsConfig config, RunContext context)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(context);
        string name = $"imle-gradients-{config.Case}-{GradientMethods.Key(config.Method)}";
        long done = 0;
        bool started = false;
        ImleGradientsCellResult result;
        try
        {
            result = ImleGradientsStudy.Run(config, (d, total) =>
            {
                if (!started) context.Observer?.Started(name, 0, total);
                started = true;
                done = d;
                context.Observer?.Stepped(d, new Dictionary<string, double>());
            }, context.Stop);
        }
        catch (OperationCanceledException) when (context.Stop.IsCancellationRequested)
        {
            return new CellRunResult(done, Stopped: true);   // nothing to keep: a rerun computes the cell again
        }
        WriteCell(result, context.OutputDirectory);
        return new CellRunResult(done, Stopped: false);
    }

    /// <summary>Writes a cell's <c>cosine.csv</c>, <c>sgd.csv</c>, <c>result.json</c> and its "eval" record (metrics.jsonl, eval.csv).</summary>
    public static void WriteCell(ImleGradientsCellResult r, string directory)
    {
        ArgumentNullException.ThrowIfNull(r);
        Directory.CreateDirectory(directory);
        string label = GradientMethods.Label(r.Method);
        using (var csv = new CsvWriter(Path.Combine(directory, "cosine.csv"), new[] { "n", "k", "method", "lambda", "cosine_mean", "cosine_se", "seeds" }))
            for (int l = 0; l < r.Cosine.Count; l++)
                csv.WriteRow(r.N, r.K, label, r.Lambdas.Count == 0 ? "" : R(r.Lambdas[l]), r.Cosine[l].Mean, r.Cosine[l].Se, r.Seeds);
        using (var csv = new CsvWriter(Path.Combine(directory, "sgd.csv"), new[] { "n", "k", "method", "step", "gap_mean", "gap_se", "runs" }))
            foreach (var (method, gap) in new[] { (label, r.Gap), (GradientMethods.Label(GradientMethod.Exact), r.ExactGap) })
                for (int t = 0; t < gap.Count; t++)
                    csv.WriteRow(r.N, r.K, method, t, gap[t].Mean, gap[t].Se, r.Runs);
        if (r.AimleTrajectory is { } path)
            using (var csv = new CsvWriter(Path.Combine(directory, "aimle.csv"), new[] { "n", "k", "method", "pass", "lambda_mean", "lambda_se", "beta_mean", "beta_se", "nonzero_rate_mean", "nonzero_rate_se", "cosine_mean", "cosine_se" }))
                for (int w = 0; w < path.Lambda.Count; w++)
                    csv.WriteRow(r.N, r.K, label, w + 1, path.Lambda[w].Mean, path.Lambda[w].Se, path.Beta[w].Mean, path.Beta[w].Se,
                        path.NonZeroRate[w].Mean, path.NonZeroRate[w].Se, path.Cosine is null ? "" : R(path.Cosine[w].Mean), path.Cosine is null ? "" : R(path.Cosine[w].Se));
        WriteResult(directory, r);
        var (lambda, best) = r.Best;
        var metrics = new Dictionary<string, double>
        {
            ["cosine"] = best.Mean,
            ["cosine_se"] = best.Se,
            ["gradient_norm"] = r.TrueGradientNorm.Mean,
            ["final_gap"] = r.Gap[^1].Mean,
            ["final_gap_se"] = r.Gap[^1].Se,
            ["exact_final_gap"] = r.ExactGap[^1].Mean,
        };
        if (!double.IsNaN(lambda)) metrics["best_lambda"] = lambda;
        if (r.AimleLambda is { } a) metrics["aimle_lambda"] = a.Mean;
        using var log = new MetricsLog(directory, null);
        log.Write(new MetricsRecord("eval", r.Gap.Count - 1, metrics));
    }

    /// <summary>Reads a cell's <c>result.json</c>.</summary>
    public static ImleGradientsCellResult ReadCell(string directory) => ReadResult<ImleGradientsCellResult>(directory);

    /// <summary>Per noise and case: the figure, the best of each method, the cosine-vs-lambda table, AIMLE's trajectory, the gap at a few steps and the reading.</summary>
    protected override void WriteSection(IReadOnlyList<(ImleGradientsConfig Config, CellOutcome Outcome)> cells, GridReportContext report, StringBuilder markdown)
    {
        ArgumentNullException.ThrowIfNull(cells);
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(markdown);
        foreach (var group in cells.GroupBy(c => (c.Config.Noise, c.Config.N, c.Config.K)))
        {
            var config = group.First().Config;
            var results = group.Select(c => ReadCell(c.Outcome.Directory)).ToList();
            var (noise, n, k) = group.Key;
            string key = ImleGradientsStudy.NoiseKey(noise);
            markdown.AppendLine($"## n = {n}, k = {k}, {NoiseLabel(config)} ({results[0].States} states)").AppendLine();
            string file = (report.AssetPrefix.Length > 0 ? report.AssetPrefix : "imle-gradients-") + $"{key}-n{n}-k{k}.png";
            SavePng(Path.Combine(report.AssetsDirectory, file), config, results);
            markdown.AppendLine($"![n = {n}, k = {k}, {key}]({file})").AppendLine();
            markdown.AppendLine($"Cosine similarity to the exact gradient, each method at its best (S = {config.Samples}, mean ± SE over {config.Seeds} seeds):").AppendLine();
            markdown.Append(MarkdownTable.Render(new[] { "method", "cosine", "λ" }, results.OrderByDescending(r => r.Best.Cosine.Mean).Select(r =>
                (IReadOnlyList<string>)new[]
                {
                    GradientMethods.Label(r.Method), r.Best.Cosine.ToString(),
                    r.Lambdas.Count > 0 ? $"best of {r.Lambdas.Count} on the grid: {G(r.Best.Lambda)}" : r.AimleLambda is { } a ? $"adapted: {G(a.Mean)} ± {G(a.Se)}" : "–",
                }))).AppendLine();
            var fixedRows = results.Where(r => r.Lambdas.Count > 0).ToList();
            if (fixedRows.Count > 0)
            {
                var shown = ShownLambdas(config.Lambdas, fixedRows.Select(r => r.Lambdas.ToList().IndexOf(r.Best.Lambda)));
                markdown.AppendLine($"Cosine vs λ (fixed-λ I-MLE; {(shown.Count < config.Lambdas.Count ? $"{shown.Count} of the {config.Lambdas.Count} grid values, each method's best included; all in cosine.csv" : "every grid value")}):").AppendLine();
                markdown.Append(MarkdownTable.Render(new[] { "λ" }.Concat(fixedRows.Select(r => GradientMethods.Label(r.Method))).ToArray(),
                    shown.Select(l => (IReadOnlyList<string>)new[] { G(config.Lambdas[l]) }
                        .Concat(fixedRows.Select(r => r.Cosine[l].ToString())).ToArray()))).AppendLine();
            }
            var adaptive = results.Where(r => r.AimleTrajectory is not null).ToList();
            if (adaptive.Count > 0)
            {
                int passes = adaptive[0].AimleTrajectory!.Lambda.Count;
                int[] at = new[] { 1, 10, 25, 50, 100, 250, 500, 1000, passes }.Where(p => p <= passes).Distinct().ToArray();
                markdown.AppendLine($"AIMLE's adaptation at the same θ (initial β {R(config.AimleInitialBeta)}, step {R(config.AimleStep)}, target " +
                                    $"{R(config.AimleTargetNonZeros)} non-zero entries per sample, {config.WarmupSteps} warm-up passes; pass {passes} is the measured one), " +
                                    "λ / β / running non-zero rate after the pass / cosine of the pass's estimate, mean over seeds:").AppendLine();
                markdown.Append(MarkdownTable.Render(new[] { "method" }.Concat(at.Select(p => $"pass {p}")).ToArray(),
                    adaptive.Select(r => (IReadOnlyList<string>)new[] { GradientMethods.Label(r.Method) }.Concat(at.Select(p =>
                    {
                        var t = r.AimleTrajectory!;
                        return $"{G(t.Lambda[p - 1].Mean)} / {G(t.Beta[p - 1].Mean)} / {F(t.NonZeroRate[p - 1].Mean, 2)}" + (t.Cosine is null ? "" : $" / {F(t.Cosine[p - 1].Mean)}");
                    })).ToArray()))).AppendLine();
            }
            int[] marks = new[] { 0, 10, 25, config.SgdSteps }.Where(t => t <= config.SgdSteps).Distinct().ToArray();
            markdown.AppendLine($"Optimality gap (min L = {F(results[0].OptimumLoss, 4)}), mean ± SE over {config.SgdRepeats} runs; SGD with momentum " +
                                $"{R(config.SgdMomentum)}, learning rate {R(config.SgdLearningRate)}, S = {config.SgdSamples}, I-MLE λ = {R(config.SgdLambda)}, " +
                                $"AIMLE initial β = {R(config.SgdAimleInitialBeta)}:").AppendLine();
            var gapRows = results.Select(r => (GradientMethods.Label(r.Method), r.Gap))
                .Append((GradientMethods.Label(GradientMethod.Exact), results[0].ExactGap));
            markdown.Append(MarkdownTable.Render(new[] { "method" }.Concat(marks.Select(t => $"step {t}")).ToArray(),
                gapRows.Select(g => (IReadOnlyList<string>)new[] { g.Item1 }.Concat(marks.Select(t => g.Item2[t].ToString())).ToArray()))).AppendLine();
            markdown.Append(Reading(results)).AppendLine();
        }
    }

    /// <summary>"Gumbel(0, 1) noise" or "Sum-of-Gamma(k = K, 10 terms) noise".</summary>
    public static string NoiseLabel(ImleGradientsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.Noise == KSubsetNoise.Gumbel ? "Gumbel(0, 1) noise" : $"Sum-of-Gamma(k = {config.K}, 10 terms) noise";
    }

    /// <summary>
    /// The rows of the cosine-vs-lambda table: every index for grids of at most 25 values; otherwise the grid values nearest
    /// to 0 and to 1, 2, 5 x 10^d within the grid's range, and the given indices (each method's best), in grid order.
    /// </summary>
    public static IReadOnlyList<int> ShownLambdas(IReadOnlyList<double> lambdas, IEnumerable<int> always)
    {
        ArgumentNullException.ThrowIfNull(lambdas);
        ArgumentNullException.ThrowIfNull(always);
        if (lambdas.Count <= 25) return Enumerable.Range(0, lambdas.Count).ToArray();
        double lo = lambdas.Min(), hi = lambdas.Max();
        var marks = new List<double> { lo };
        for (int d = -6; d <= 6; d++)
            foreach (double m in new[] { 1.0, 2.0, 5.0 })
            {
                double v = m * Math.Pow(10, d);
                if (v >= lo && v <= hi) marks.Add(v);
            }
        int Nearest(double v) => Enumerable.Range(0, lambdas.Count).MinBy(i => Math.Abs(lambdas[i] - v));
        return marks.Select(Nearest).Concat(always.Where(i => i >= 0)).Distinct().Order().ToArray();
    }

    /// <summary>What the numbers of one case say, computed from them.</summary>
    /// <param name="results">The cells of one noise and case.</param>
    public static string Reading(IReadOnlyList<ImleGradientsCellResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var best = results.Select(r => (r.Method, r.Best.Cosine)).OrderByDescending(x => x.Cosine.Mean).ToArray();
        var sb = new StringBuilder("Reading (computed from the tables):\n\n");
        sb.Append("- Ranking by cosine (fixed-λ methods at their best λ): " +
                  string.Join(" > ", best.Select(b => $"{GradientMethods.Label(b.Method)} ({F(b.Cosine.Mean)})")) + ".\n");
        bool tied = best.Length > 1 && Math.Abs(best[0].Cosine.Mean - best[1].Cosine.Mean) <= 2 * Math.Max(best[0].Cosine.Se, best[1].Cosine.Se);
        sb.Append($"- Highest: {GradientMethods.Label(best[0].Method)}" + (tied ? $", within 2 SE of {GradientMethods.Label(best[1].Method)}" : "") +
                  ". The paper's finding is that AIMLE central is best; " +
                  (best[0].Method == GradientMethod.AimleCentral || (tied && best[1].Method == GradientMethod.AimleCentral) ? "that holds here" : "that does not hold here") +
                  (results.Count < GradientMethods.Estimators.Length ? " among the methods of this grid only.\n" : ".\n"));
        var fwd = results.FirstOrDefault(r => r.Method == GradientMethod.ImleForward);
        var cen = results.FirstOrDefault(r => r.Method == GradientMethod.ImleCentral);
        if (fwd is not null && cen is not null && fwd.Lambdas.SequenceEqual(cen.Lambdas))
        {
            int wins = Enumerable.Range(0, fwd.Lambdas.Count).Count(l => cen.Cosine[l].Mean > fwd.Cosine[l].Mean);
            sb.Append($"- I-MLE central beats I-MLE forward at {wins} of {fwd.Lambdas.Count} λ values.\n");
        }
        var aimle = results.FirstOrDefault(r => r.Method == GradientMethod.AimleCentral);
        if (aimle?.AimleLambda is { } adapted && cen is not null && cen.Lambdas.Count > 0)
        {
            int near = Enumerable.Range(0, cen.Lambdas.Count).MinBy(l => Math.Abs(cen.Lambdas[l] - adapted.Mean));
            int above = Enumerable.Range(0, cen.Lambdas.Count).Count(l => aimle.Cosine[0].Mean > cen.Cosine[l].Mean);
            var positive = Enumerable.Range(0, cen.Lambdas.Count).Where(l => cen.Lambdas[l] > 0).ToArray();
            sb.Append($"- AIMLE central ({F(aimle.Cosine[0].Mean)} ± {F(aimle.Cosine[0].Se)}, adapted λ {G(adapted.Mean)}) against I-MLE central: " +
                      $"above it at {above} of {cen.Lambdas.Count} grid λ; I-MLE central at the grid λ nearest the adapted one ({G(cen.Lambdas[near])}): " +
                      $"{cen.Cosine[near]}; at its best λ ({G(cen.Best.Lambda)}): {cen.Best.Cosine}" +
                      (positive.Length > 0 ? $"; at the smallest positive grid λ ({G(cen.Lambdas[positive[0]])}): {cen.Cosine[positive[0]]}" : "") + ".\n");
        }
        var simple = results.FirstOrDefault(r => r.Method == GradientMethod.Simple);
        var sfe = results.FirstOrDefault(r => r.Method == GradientMethod.ScoreFunctionExact);
        if (simple is not null)
            sb.Append($"- SIMPLE: {simple.Cosine[0]}" + (sfe is not null ? $" (exact-sampling SFE with the same S: {sfe.Cosine[0]})" : "") + ".\n");
        var final = results.Select(r => (Method: r.Method, Gap: r.Gap[^1])).Append((Method: GradientMethod.Exact, Gap: results[0].ExactGap[^1])).OrderBy(x => x.Gap.Mean);
        sb.Append("- Final optimality gap, lowest first: " + string.Join(", ", final.Select(f => $"{GradientMethods.Label(f.Method)} {F(f.Gap.Mean)}")) + ".\n");
        return sb.ToString();
    }

    /// <summary>Two panels: cosine to the exact gradient vs log10 lambda (lambda-free methods as flat lines), and the
    /// optimality gap vs SGD step (each method, then the exact gradient), mean ± SE bands.</summary>
    public static void SavePng(string path, ImleGradientsConfig config, IReadOnlyList<ImleGradientsCellResult> results)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(results);
        int n = results[0].N, k = results[0].K;
        bool linear = config.LambdaSpacing == LambdaSpacing.Linear;
        var xs = config.Lambdas.Select(l => linear ? l : Math.Log10(l)).ToArray();
        var cosSeries = results.Select(r =>
        {
            var s = r.Lambdas.Count > 0 ? r.Cosine.ToArray() : xs.Select(_ => r.Cosine[0]).ToArray();
            return new LineSeries(GradientMethods.Label(r.Method), xs, s.Select(x => x.Mean).ToArray(),
                s.Select(x => x.Mean - x.Se).ToArray(), s.Select(x => x.Mean + x.Se).ToArray());
        }).ToList();
        var steps = Enumerable.Range(0, config.SgdSteps + 1).Select(t => (double)t).ToArray();
        var gapSeries = results.Select(r => (r.Method, r.Gap)).Append((GradientMethod.Exact, results[0].ExactGap)).Select(g =>
            new LineSeries(GradientMethods.Label(g.Item1), steps, g.Item2.Select(x => x.Mean).ToArray(),
                g.Item2.Select(x => x.Mean - x.Se).ToArray(), g.Item2.Select(x => x.Mean + x.Se).ToArray())).ToArray();
        var panels = new List<Plot>
        {
            LinePlot.Create(new LinePlotLayout($"n = {n}, k = {k}, {ImleGradientsStudy.NoiseKey(config.Noise)} noise: cosine to the exact gradient (S = {config.Samples})",
                (linear ? "λ" : "log10 λ") + " (I-MLE; the other methods do not use λ)", "cosine similarity"), cosSeries),
            LinePlot.Create(new LinePlotLayout($"n = {n}, k = {k}: optimality gap under SGD (S = {config.SgdSamples})",
                "SGD step", "E_p[L] − min L"), gapSeries),
        };
        try { ReportPlotStyle.SavePanels(panels, path, columns: 2, panelWidth: 760, panelHeight: 520); }
        finally { foreach (var p in panels) p.Dispose(); }
    }
}
