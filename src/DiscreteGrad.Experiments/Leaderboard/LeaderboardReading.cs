using System.Globalization;
using System.Text;
using DiscreteGrad.Experiments.Reporting;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.Leaderboard;

/// <summary>One estimator on one problem: the means over its seeds of every metric, and the primary result's spread.</summary>
/// <param name="Item">The problem.</param>
/// <param name="Key">The estimator's word.</param>
/// <param name="Display">Its display name.</param>
/// <param name="Seeds">Finished seeds.</param>
/// <param name="Means">Mean over seeds of each metric (NaN where no seed has it).</param>
/// <param name="Stds">Sample std over seeds of each metric (NaN for one seed).</param>
public sealed record LeaderboardRow(LeaderboardItem Item, string Key, string Display, int Seeds, IReadOnlyDictionary<string, double> Means,
    IReadOnlyDictionary<string, double> Stds)
{
    private static readonly CultureInfo InvC = CultureInfo.InvariantCulture;

    /// <summary>The mean of the problem's primary metric.</summary>
    public double Primary => Means.GetValueOrDefault(LeaderboardItems.Primary(Item).Metric, double.NaN);

    /// <summary>The mean of a metric (NaN when missing).</summary>
    public double Get(string metric) => Means.GetValueOrDefault(metric, double.NaN);

    /// <summary>"mean +- std" over the seeds (the mean alone for one seed, "-" when missing).</summary>
    public string Text(string metric, string format)
    {
        double m = Get(metric);
        if (!double.IsFinite(m)) return "-";
        double s = Stds.GetValueOrDefault(metric, double.NaN);
        return Statistics.FormatMeanSpread(m, double.IsFinite(s) ? s : 0, Seeds, v => v.ToString(format, InvC));
    }
}

/// <summary>
/// The leaderboard's reading, computed from its numbers only (no claim of a paper enters it). The rules, stated in the
/// report: on each problem the estimators are ranked by the primary result; an estimator is <i>near the best</i> when its
/// result is within a factor 1.25 of the best excess loss (polynomial), 1 nat of the best -ELBO (VAEs) or 0.02 of the
/// best cosine (top-k); the cheapest near-best estimator is the one of least CPU time per step; an estimator's average
/// rank is over the problems it ran, as a fraction of the field (0 = always first, 1 = always last); on the categorical
/// VAE an estimator is <i>unbiased by the numbers</i> when its enumerated cosine is at least 0.999, or, without
/// enumeration, when its relative bias is at most 3 noise floors.
/// </summary>
public static class LeaderboardReading
{
    private static readonly CultureInfo InvC = CultureInfo.InvariantCulture;

    /// <summary>The rows of the finished cells, grouped by (problem, estimator) over their seeds, in cell order.</summary>
    public static List<LeaderboardRow> Rows(IReadOnlyList<(LeaderboardConfig Config, CellOutcome Outcome)> cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        return cells.GroupBy(c => (c.Config.Item, c.Config.Estimator)).Select(g =>
        {
            var metrics = g.SelectMany(c => c.Outcome.FinalEval.Keys).Distinct().ToList();
            var means = new Dictionary<string, double>();
            var stds = new Dictionary<string, double>();
            foreach (var k in metrics)
            {
                var xs = g.Select(c => c.Outcome.FinalEval.GetValueOrDefault(k, double.NaN)).Where(double.IsFinite).ToList();
                means[k] = xs.Count == 0 ? double.NaN : Statistics.Mean(xs);
                stds[k] = xs.Count < 2 ? double.NaN : Statistics.SampleStd(xs);
            }
            return new LeaderboardRow(g.Key.Item, g.Key.Estimator, LeaderboardEstimators.Display(g.Key.Item, g.Key.Estimator), g.Count(), means, stds);
        }).ToList();
    }

    /// <summary>Whether <paramref name="value"/> is near the best result <paramref name="best"/> of the problem (see the class remarks).</summary>
    public static bool NearBest(LeaderboardItem item, double value, double best)
    {
        if (!double.IsFinite(value) || !double.IsFinite(best)) return false;
        return item switch
        {
            _ when LeaderboardItems.IsPolynomial(item) => value <= 1.25 * best,
            LeaderboardItem.Vae8x4 or LeaderboardItem.BernoulliVae => value <= best + 1.0,
            _ => value >= best - 0.02,
        };
    }

    /// <summary>The rows of a problem ranked best first (rows without a result last).</summary>
    public static List<LeaderboardRow> Ranked(IEnumerable<LeaderboardRow> rows, LeaderboardItem item)
    {
        bool lower = LeaderboardItems.Primary(item).Lower;
        return rows.Where(r => r.Item == item).OrderBy(r => double.IsFinite(r.Primary) ? 0 : 1)
            .ThenBy(r => lower ? r.Primary : -r.Primary).ToList();
    }

    /// <summary>The reading as markdown bullets.</summary>
    public static string Write(IReadOnlyList<LeaderboardRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var sb = new StringBuilder();
        sb.Append("Computed from the tables above (rules: near the best = within x1.25 of the best excess loss, 1 nat of the best -ELBO, " +
                      "0.02 of the best cosine; the cheapest = least CPU time per step; average rank over the problems an estimator ran, 0 = always first, " +
                      "1 = always last; unbiased by the numbers = enumerated cosine >= 0.999, or relative bias <= 3 noise floors).");
        int fewest = rows.Count == 0 ? 0 : rows.Min(r => r.Seeds);
        sb.AppendLine(fewest < 2
            ? " Some results rest on one seed, so the tables show no seed-to-seed spread and close ranks are not findings."
            : $" Every result is the mean of at least {fewest.ToString(InvC)} seeds.").AppendLine();
        var items = rows.Select(r => r.Item).Distinct().OrderBy(i => i).ToList();
        var near = new Dictionary<string, (int Near, int Ran)>();
        var rank = new Dictionary<string, List<double>>();
        foreach (var item in items)
        {
            var ranked = Ranked(rows, item).Where(r => double.IsFinite(r.Primary)).ToList();
            if (ranked.Count == 0) continue;
            var best = ranked[0];
            var close = ranked.Where(r => NearBest(item, r.Primary, best.Primary)).ToList();
            var cheapest = close.Where(r => double.IsFinite(r.Get("cpu_ms_per_step"))).MinBy(r => r.Get("cpu_ms_per_step"));
            var (metric, header, _, format) = LeaderboardItems.Primary(item);
            sb.Append($"- **{LeaderboardItems.Display(item)}**: best {best.Display} ({header} {best.Text(metric, format)})");
            if (close.Count > 1) sb.Append($"; near it: {string.Join(", ", close.Skip(1).Select(r => $"{r.Display} ({r.Text(metric, format)})"))}");
            if (cheapest is not null && close.Count > 1)
                sb.Append($"; the cheapest of those: {cheapest.Display} ({cheapest.Text("cpu_ms_per_step", "F2")} CPU ms / step)");
            sb.AppendLine(".");
            for (int i = 0; i < ranked.Count; i++)
            {
                var r = ranked[i];
                var (n, ran) = near.GetValueOrDefault(r.Key);
                near[r.Key] = (n + (close.Contains(r) ? 1 : 0), ran + 1);
                if (!rank.TryGetValue(r.Key, out var list)) rank[r.Key] = list = new List<double>();
                list.Add(ranked.Count == 1 ? 0 : i / (double)(ranked.Count - 1));
            }
        }
        Family(sb, "f is differentiable and evaluated once per sample (pathwise estimators)", rank, near, LeaderboardEstimators.IsPathwise);
        Family(sb, "f is a black box (score-function estimators: no gradient of f needed)", rank, near,
            k => !LeaderboardEstimators.IsPathwise(k) && LeaderboardEstimators.ForTopK(k) is null);
        Bias(sb, rows);
        Cost(sb, rows, items);
        return sb.ToString();
    }

    private static void Family(StringBuilder sb, string what, Dictionary<string, List<double>> rank, Dictionary<string, (int Near, int Ran)> near,
        Func<string, bool> member)
    {
        var ranked = rank.Where(kv => member(kv.Key)).Select(kv => (Key: kv.Key, Rank: kv.Value.Average(), near[kv.Key].Near, near[kv.Key].Ran))
            .OrderBy(x => x.Rank).ToList();
        if (ranked.Count == 0) return;
        sb.AppendLine($"- **When {what}**: by average rank {string.Join(", ", ranked.Take(4).Select(x => $"{LeaderboardEstimators.Display(x.Key)} " +
            $"({x.Rank.ToString("F2", InvC)}, near the best on {x.Near} of {x.Ran})"))}" +
            (ranked.Count > 4 ? $"; last {LeaderboardEstimators.Display(ranked[^1].Key)} ({ranked[^1].Rank.ToString("F2", InvC)})" : "") + ".");
    }

    private static void Bias(StringBuilder sb, IReadOnlyList<LeaderboardRow> rows)
    {
        var vae = rows.Where(r => r.Item == LeaderboardItem.Vae8x4 && double.IsFinite(r.Get("bias_cos"))).ToList();
        if (vae.Count == 0) return;
        bool Unbiased(LeaderboardRow r) => r.Get("bias_exact") >= 0.5 ? r.Get("bias_cos") >= 0.999 : r.Get("bias_rel") <= 3 * r.Get("bias_noise_floor");
        var unbiased = vae.Where(Unbiased).OrderBy(r => double.IsFinite(r.Get("bias_relative_std")) ? r.Get("bias_relative_std") : double.MaxValue).ToList();
        var biased = vae.Where(r => !Unbiased(r)).OrderByDescending(r => r.Get("bias_cos")).ToList();
        sb.Append("- **When the gradient must be unbiased** (categorical VAE, exact gradient by enumeration): unbiased by the numbers: ");
        sb.Append(unbiased.Count == 0 ? "none" : string.Join(", ", unbiased.Select(r => $"{r.Display} (rel. std {r.Text("bias_relative_std", "F2")})")));
        sb.Append(unbiased.Count > 0 ? $", the least spread {unbiased[0].Display}" : "");
        if (biased.Count > 0)
            sb.Append($"; biased, by cosine to the exact gradient: {string.Join(", ", biased.Select(r => $"{r.Display} {r.Text("bias_cos", "F3")}"))}");
        sb.AppendLine(".");
    }

    private static void Cost(StringBuilder sb, IReadOnlyList<LeaderboardRow> rows, IReadOnlyList<LeaderboardItem> items)
    {
        var parts = new List<string>();
        foreach (var item in items)
        {
            var timed = rows.Where(r => r.Item == item && double.IsFinite(r.Get("cpu_ms_per_step"))).OrderBy(r => r.Get("cpu_ms_per_step")).ToList();
            if (timed.Count < 2) continue;
            var peak = rows.Where(r => r.Item == item && double.IsFinite(r.Get("step_peak_mb"))).OrderBy(r => r.Get("step_peak_mb")).ToList();
            string memory = peak.Count < 2 ? "" : $", step peak {peak[0].Text("step_peak_mb", "F2")} ({peak[0].Display}) to {peak[^1].Text("step_peak_mb", "F2")} MB ({peak[^1].Display})";
            parts.Add($"{LeaderboardItems.Key(item)}: {timed[0].Text("cpu_ms_per_step", "F2")} ({timed[0].Display}) to {timed[^1].Text("cpu_ms_per_step", "F2")} " +
                      $"CPU ms / step ({timed[^1].Display}, x{(timed[^1].Get("cpu_ms_per_step") / timed[0].Get("cpu_ms_per_step")).ToString("F1", InvC)}){memory}");
        }
        if (parts.Count > 0) sb.AppendLine($"- **Cost per step**: {string.Join("; ", parts)}.");
    }
}
