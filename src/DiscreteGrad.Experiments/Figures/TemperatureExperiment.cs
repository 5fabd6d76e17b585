using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.Figures;

/// <summary>
/// Settings of the temperature experiment of the lecture slides: random scores over a few categories, many Gumbel-softmax
/// samples per temperature, the empirical distribution compared with softmax(scores). One cell measures every temperature.
/// </summary>
public sealed record TemperatureConfig : IValidatedConfig
{
    /// <summary>Number of categories.</summary>
    [Setting("categories", "Number of categories.", Min = 2, Max = 10_000)]
    public int Categories { get; init; } = 10;

    /// <summary>Samples per temperature.</summary>
    [Setting("samples", "Samples per temperature.", Min = 2, Max = 10_000_000)]
    public int Samples { get; init; } = 10_000;

    /// <summary>The temperatures, in the order drawn.</summary>
    [Setting("taus", "Temperatures.", Min = 0, MinExclusive = true, Max = 1e6)]
    public double[] Taus { get; init; } = { 0.001, 0.1, 0.5, 1.0, 2.0, 10.0, 100.0 };

    /// <summary>Scores are drawn i.i.d. N(0, ScoreScale^2).</summary>
    [Setting("score-scale", "Scores are drawn from N(0, scale^2).", Min = 0, MinExclusive = true, Max = 1e3)]
    public double ScoreScale { get; init; } = 1.0;

    /// <summary>Seed: the scores come from a generator with this seed; every temperature's Gumbel-softmax samples from a fresh
    /// generator with seed + 1 (the same standard Gumbel draws at every tau) and its tempered categorical samples from a
    /// fresh generator with seed + 2.</summary>
    [Setting("seed", "Seed of the random generator.", Min = 0, Max = int.MaxValue)]
    public ulong Seed { get; init; }

    /// <summary>Checks what the settings' ranges do not: at least one tau, none twice.</summary>
    public void Validate() => FigureOutput.CheckList(Taus, nameof(Taus));
}

/// <summary>The measurements at one temperature.</summary>
/// <param name="Tau">Temperature.</param>
/// <param name="MeanSoft">Mean of the Gumbel-softmax samples softmax((s + g) / tau), per category.</param>
/// <param name="StandardError">Standard error of <see cref="MeanSoft"/> per category (sample std / sqrt(n)).</param>
/// <param name="MeanMax">Mean over samples of the largest entry of a soft sample.</param>
/// <param name="ArgmaxShares">Share of the soft samples whose largest entry is each category (= argmax(s + g): tau plays no part).</param>
/// <param name="Tempered">Histogram of n draws from Cat(softmax(s / tau)), the slides' "sampling at temperature tau".</param>
public sealed record TemperatureResult(double Tau, double[] MeanSoft, double[] StandardError, double MeanMax, double[] ArgmaxShares,
    double[] Tempered)
{
    /// <summary>Monte Carlo noise level of a total variation distance of <see cref="MeanSoft"/>: ½ Σ_k SE_k. A TV that is
    /// pure sampling noise is about 0.8 of this (E|N(0, SE²)| = 0.8 SE).</summary>
    public double NoiseLevel => 0.5 * StandardError.Sum();
}

/// <summary>The results of the temperature experiment.</summary>
/// <param name="Config">The settings.</param>
/// <param name="Scores">The random scores s.</param>
/// <param name="Softmax">softmax(s).</param>
/// <param name="PerTau">One result per temperature, in the configured order.</param>
public sealed record TemperatureResults(TemperatureConfig Config, double[] Scores, double[] Softmax, IReadOnlyList<TemperatureResult> PerTau);

/// <summary>The temperature experiment of the lecture slides.</summary>
public static class TemperatureExperiment
{
    /// <summary>Total variation distance ½ Σ |p_k − q_k|.</summary>
    public static double TotalVariation(IReadOnlyList<double> p, IReadOnlyList<double> q)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(q);
        if (p.Count != q.Count) throw new ArgumentException($"lengths differ ({p.Count} vs {q.Count}).", nameof(q));
        double s = 0;
        for (int i = 0; i < p.Count; i++) s += Math.Abs(p[i] - q[i]);
        return 0.5 * s;
    }

    /// <summary>Draws the scores and measures every temperature (CPU, float64).</summary>
    public static TemperatureResults Run(TemperatureConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        using var scope = torch.NewDisposeScope();
        Tensor scores;
        using (var g = new Generator(config.Seed))
            scores = torch.randn(new long[] { config.Categories }, dtype: ScalarType.Float64, generator: g).mul_(config.ScoreScale);
        var softmax = scores.softmax(-1).data<double>().ToArray();
        var perTau = config.Taus.Select(t => Measure(scores, t, config.Samples, config.Seed)).ToArray();
        return new TemperatureResults(config, scores.data<double>().ToArray(), softmax, perTau);
    }

    /// <summary>
    /// Draws <paramref name="n"/> Gumbel-softmax samples of <paramref name="scores"/> [K] at temperature
    /// <paramref name="tau"/> (<see cref="discrete.functional.gumbel_softmax"/>, beta = 1, generator seeded seed + 1) and n draws from
    /// Cat(softmax(scores / tau)) (<see cref="OneHot.Sample"/>, generator seeded seed + 2), and summarises them.
    /// </summary>
    public static TemperatureResult Measure(Tensor scores, double tau, int n, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(scores);
        Guard.Temperature(tau);
        Guard.AtLeast(n, 2, nameof(n));
        using var scope = torch.NewDisposeScope();
        long k = scores.shape[^1];
        var logits = scores.to_type(ScalarType.Float64).reshape(1, k).expand(n, k).contiguous();
        Tensor y;
        using (var g = new Generator(seed + 1))
            y = discrete.functional.gumbel_softmax(logits, tau, hard: false, beta: 1.0, generator: g);
        var mean = y.mean(new long[] { 0 });
        var se = y.std(0L, unbiased: true).div_(Math.Sqrt(n));
        var (maxValues, argmax) = y.max(-1);
        var meanMax = maxValues.mean().item<double>();
        var argmaxShares = torch.bincount(argmax, minlength: k).to_type(ScalarType.Float64).div_(n);
        Tensor tempered;
        using (var g = new Generator(seed + 2))
            tempered = OneHot.Sample(logits / tau, g).mean(new long[] { 0 });
        return new TemperatureResult(tau, mean.data<double>().ToArray(), se.data<double>().ToArray(), meanMax,
            argmaxShares.data<double>().ToArray(), tempered.data<double>().ToArray());
    }
}
