using System.Globalization;
using System.Text;
using DiscreteGrad.Experiments.Reporting;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.Leaderboard;

/// <summary>
/// <c>discretegrad leaderboard</c>: every estimator on a fixed suite, one cell (a process of its own) per (problem,
/// estimator, seed), one report. The suite: polynomial programming (p = 1.5, 2, 3; c = 0.45 and c_i = (i - 1/2) / N; the
/// exact expected loss after the budget), the MNIST categorical VAE 8x4 (test -ELBO after the budget; the gradient's bias
/// as the cosine to the exact gradient, all 4096 codes enumerated, and its spread, at a common model), the MNIST Bernoulli
/// VAE (test -ELBO after the budget) and AIMLE's top-k gradient study (cosine to the exact gradient, optimality gap). Each
/// cell also measures its cost per step (wall and CPU time) and the peak memory of a step (<see cref="StepCost"/>), so
/// every column of the report comes from one run on one machine. The report's reading ("which estimator when") is
/// computed from the numbers (<see cref="LeaderboardReading"/>).
/// </summary>
public sealed class LeaderboardExperiment : Experiment<LeaderboardConfig>
{
    private static readonly CultureInfo InvC = CultureInfo.InvariantCulture;

    /// <inheritdoc />
    public override string Name => "leaderboard";
    /// <inheritdoc />
    public override string Description =>
        "Every estimator on a fixed suite (polynomial programming, categorical VAE 8x4 with its exact-gradient bias, Bernoulli VAE, top-k gradients), " +
        "with cost per step and peak memory, in one report.";
    /// <inheritdoc />
    public override string Title => "Estimator leaderboard";
    /// <summary>"poly-p2: ReinMax".</summary>
    public override string Label(LeaderboardConfig config) => $"{LeaderboardItems.Key(config.Item)}: {LeaderboardEstimators.Display(config.Item, config.Estimator)}";
    /// <summary>No checkpoints: a cell is minutes long and a stopped cell runs again from the start.</summary>
    public override long CheckpointEvery(LeaderboardConfig config) => 0;

    /// <summary>The problem's primary result (see its table), the cost per step and the peak memory of a step.</summary>
    public override IReadOnlyList<SummaryMetric> Metrics { get; } = new[]
    {
        new SummaryMetric("result", o => Primary(o), "G4"),
        SummaryMetric.FinalEval("CPU ms / step", "cpu_ms_per_step", "F2"),
        SummaryMetric.FinalEval("wall ms / step", "wall_ms_per_step", "F2"),
        SummaryMetric.FinalEval("step peak MB", "step_peak_mb", "F2"),
    };

    /// <summary>The estimators that do not apply to a problem are left out of the grid (one reason per problem).</summary>
    protected override string? Excluded(LeaderboardConfig config) => LeaderboardEstimators.WhyNot(config.Item, config.Estimator);

    /// <summary>Runs the cell (<see cref="LeaderboardRuns.Run"/>) and writes its one record.</summary>
    protected override CellRunResult Run(LeaderboardConfig config, RunContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var metrics = LeaderboardRuns.Run(config, context);
        if (metrics is null) return new CellRunResult(0, Stopped: true);
        long steps = (long)metrics["steps"];
        using var log = new MetricsLog(context.OutputDirectory, null);
        // What a cell could not measure (CPU time and peak memory of a cell sharing its process) is left out: "-" in the report.
        log.Write(new MetricsRecord("eval", steps, metrics.Where(kv => double.IsFinite(kv.Value)).ToDictionary(kv => kv.Key, kv => kv.Value)));
        return new CellRunResult(steps, Stopped: false);
    }

    private static double Primary(CellOutcome o)
    {
        var item = GridSpec<LeaderboardConfig>.FromSettings(o.Cell.Settings).Item;
        return o.FinalEval.GetValueOrDefault(LeaderboardItems.Primary(item).Metric, double.NaN);
    }

    /// <summary>The budgets, one table per problem (best first), the reading, and the machine's load during the run.</summary>
    protected override void WriteSection(IReadOnlyList<(LeaderboardConfig Config, CellOutcome Outcome)> cells, GridReportContext report, StringBuilder markdown)
    {
        ArgumentNullException.ThrowIfNull(cells);
        ArgumentNullException.ThrowIfNull(markdown);
        if (cells.Count == 0) return;
        var first = cells[0].Config;
        var b = first.Budget;
        var rows = LeaderboardReading.Rows(cells);
        markdown.AppendLine($"Mode **{(first.Mode == LeaderboardMode.Full ? "full" : "quick")}**, seeds {string.Join(", ", cells.Select(c => c.Config.Seed).Distinct().Order())}. Budgets: " +
                            $"polynomial {b.PolynomialSteps} Adam steps (N = 128, batch 64 samples, lr 1e-3, tau 1); categorical VAE 8x4 {b.VaeSteps} steps " +
                            $"(batch 100, Adam 1e-3, tau 1), its bias at a common model (ReinMax-trained for {b.BiasModelSteps} steps from the seed's " +
                            $"initialisation) on {b.BiasImages} test images x {b.BiasGroups} x {b.BiasDraws} draws; Bernoulli VAE {b.BernoulliVaeSteps} steps " +
                            $"(K = 6 evaluations per image, batch 100, Adam 3e-4, tau 1.1); top-k {b.TopKCase} with {b.TopKSeeds} problems x {b.TopKSamples} " +
                            $"samples, {b.TopKSgdRuns} SGD runs of {b.TopKSgdSteps} steps. Decoupled forms: tau_b = tau, tau_f = 0.5 (soft form).").AppendLine();
        markdown.AppendLine("Cost: *CPU ms / step* is the cell process's user + system time over its training steps (every thread, the garbage collector's " +
                            "included) divided by the steps; *wall ms / step* the elapsed time; both exclude the final evaluation. *step peak MB* is the " +
                            $"largest rise of the resident memory within one of {b.MemorySteps} further steps (kernel high-water mark reset before each; glibc " +
                            "maps blocks of 128 KiB and more on their own). For top-k a step is one gradient estimate with S samples.").AppendLine();
        foreach (var item in LeaderboardItems.All)
        {
            var itemRows = rows.Where(r => r.Item == item).ToList();
            if (itemRows.Count == 0) continue;
            markdown.AppendLine($"## {LeaderboardItems.Display(item)}").AppendLine();
            markdown.AppendLine(Protocol(item, b)).AppendLine();
            var (metric, header, lower, format) = LeaderboardItems.Primary(item);
            var extra = Extras(item);
            var table = itemRows.OrderBy(r => lower ? r.Primary : -r.Primary).ToList();
            markdown.Append(MarkdownTable.Render(
                new[] { "rank", "estimator", header }.Concat(extra.Select(e => e.Header)).Concat(new[] { "CPU ms / step", "wall ms / step", "step peak MB" }).ToArray(),
                table.Select((r, i) => (IReadOnlyList<string>)new[] { (i + 1).ToString(InvC), r.Display, r.Text(metric, format) }
                    .Concat(extra.Select(e => r.Text(e.Metric, e.Format)))
                    .Concat(new[] { r.Text("cpu_ms_per_step", "F2"), r.Text("wall_ms_per_step", "F2"), r.Text("step_peak_mb", "F2") }).ToArray()))).AppendLine();
        }
        markdown.AppendLine("## Which estimator when").AppendLine();
        markdown.Append(LeaderboardReading.Write(rows)).AppendLine();
        var loads = cells.SelectMany(c => new[] { c.Outcome.FinalEval.GetValueOrDefault("load_before", double.NaN), c.Outcome.FinalEval.GetValueOrDefault("load_after", double.NaN) })
            .Where(double.IsFinite).ToList();
        if (loads.Count > 0)
            markdown.AppendLine($"Machine: {cells[0].Outcome.FinalEval.GetValueOrDefault("cores", double.NaN).ToString("F0", InvC)} cores; the 1-minute load average at the " +
                                $"cells' starts and ends ranged over {loads.Min().ToString("F1", InvC)} - {loads.Max().ToString("F1", InvC)} (a load above the core " +
                                "count means other processes shared the CPU: wall times are inflated, CPU times much less).").AppendLine();
    }

    /// <summary>The columns a problem's table shows besides its primary result and the cost.</summary>
    public static IReadOnlyList<(string Header, string Metric, string Format)> Extras(LeaderboardItem item) => item switch
    {
        _ when LeaderboardItems.IsPolynomial(item) => new[] { ("E[loss]", "exact_loss", "F6"), ("mean P(z_i = 1)", "mean_q", "F3"), ("f evals / step", "f_evaluations", "F0") },
        LeaderboardItem.Vae8x4 => new[]
        {
            ("train -ELBO", "train_nelbo", "F2"), ("cos to exact gradient", "bias_cos", "F4"), ("cos s.e. (images)", "bias_cos_se", "F4"), ("rel. bias", "bias_rel", "F4"),
            ("noise floor", "bias_noise_floor", "F4"), ("rel. std (one draw)", "bias_relative_std", "F2"),
        },
        LeaderboardItem.BernoulliVae => new[] { ("train -ELBO (last epoch)", "train_nelbo", "F2") },
        _ => new[] { ("cosine s.e.", "cosine_se", "F3"), ("best lambda", "best_lambda", "G3"), ("final gap", "final_gap", "F4"), ("exact-gradient gap", "exact_final_gap", "F4") },
    };

    private static string Protocol(LeaderboardItem item, LeaderboardBudget b) => item switch
    {
        _ when LeaderboardItems.IsPolynomial(item) =>
            $"min_theta E[(1/N) sum_i |z_i - c_i|^p] over N = 128 binary z_i; *E[loss] - optimum* is the exact expected loss (closed form) minus its " +
            $"minimum after {b.PolynomialSteps} steps (lower is better). All estimators draw 64 samples per step; *f evals / step* counts the evaluations of f " +
            "(IndeCateR enumerates every coordinate, REBAR and RELAX evaluate their control variate at two relaxed points).",
        LeaderboardItem.Vae8x4 =>
            $"*test -ELBO*: one sample per test image after {b.VaeSteps} steps (lower is better). Bias at the common model: *cos to exact gradient* = " +
            "cos(E[g], g*) with g* the exact gradient of E_q[BCE] (4096 codes enumerated) and E[g] enumerated too where the estimator's only noise is the " +
            "code (ST, GST, ReinMax, ZGR, REINFORCE, NVIL, MuProp, IndeCateR), else the mean of the draws (then *rel. bias* is comparable with the " +
            "*noise floor*, the relative bias an unbiased estimator of that variance shows); the cosine is the mean over the images, *cos s.e.* its " +
            "standard error over them (once q is sharp a biased estimator's cosine on one image is often close to +1 or -1); " +
            "*rel. std* = sqrt(tr Cov(g)) / ||g*||. VIMCO: no bias study " +
            "(it estimates the gradient of its K-sample bound). REBAR and RELAX are analysed with REBAR's control variate at its initial eta = 1, lambda = 0.5.",
        LeaderboardItem.BernoulliVae =>
            $"*test -ELBO*: one sample per test image after {b.BernoulliVaeSteps} steps; *train -ELBO*: the mean of the per-step estimates over the last " +
            "epoch (or the run when shorter). K = 6 evaluations of the decoder term per image and step: 6 samples (pathwise, RLOO, NVIL), 3 antithetic pairs " +
            "(ARM, DisARM), 2 samples with 3 evaluations each (REBAR, RELAX).",
        _ => $"Top-k {b.TopKCase}, loss ||z - b||^2: *cosine* to the exact gradient (all k-subsets enumerated) of an estimate with {b.TopKSamples} samples, " +
             $"mean over {b.TopKSeeds} random problems (fixed-lambda I-MLE at its best lambda; higher is better); *final gap*: the exact optimality gap " +
             $"after {b.TopKSgdSteps} SGD steps on the estimates (mean of {b.TopKSgdRuns} runs).",
    };
}
