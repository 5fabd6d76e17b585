using System.Diagnostics;
using DiscreteGrad.Experiments.KSubsetVae;
using DiscreteGrad.Experiments.Reporting;
using DiscreteGrad.Imle;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.ImleGradients;

/// <summary>Mean and standard error of the mean over <paramref name="Count"/> values.</summary>
public readonly record struct MeanSe(double Mean, double Se, int Count = 2)
{
    /// <summary>Mean and standard error (sample std / sqrt(count)) of the values.</summary>
    public static MeanSe Of(IReadOnlyList<double> xs) => new(Statistics.Mean(xs), Statistics.SampleStd(xs) / Math.Sqrt(Math.Max(1, xs.Count)), xs.Count);

    /// <summary>"mean ± se" with three decimals (the mean alone for one value).</summary>
    public override string ToString() => Statistics.FormatMeanSpread(Mean, Se, Count, x => Figures.FigureOutput.F(x), " ± ");
}

/// <summary>What one cell (a case n x k and one estimator) of the study measured.</summary>
/// <param name="N">Items per instance.</param>
/// <param name="K">Items chosen (the subset size).</param>
/// <param name="States">Number of k-subsets enumerated, C(n, k).</param>
/// <param name="Method">The estimator.</param>
/// <param name="Lambdas">The lambdas of the rows of <paramref name="Cosine"/> (fixed-lambda methods; empty otherwise: one row).</param>
/// <param name="Cosine">cos(estimate, exact gradient), mean ± SE over the seeds, per lambda (one row for lambda-free methods).</param>
/// <param name="Seeds">Random problems of the cosine study.</param>
/// <param name="AimleLambda">AIMLE: the lambda of the measured backward pass, mean ± SE over seeds; null for the other methods.</param>
/// <param name="TrueGradientNorm">|exact gradient|, mean ± SE over seeds.</param>
/// <param name="Gap">The optimality gap E_p[L](theta_t) - min L of SGD on the estimator, mean ± SE over the runs, per step 0 .. SgdSteps.</param>
/// <param name="ExactGap">The same for SGD on the exact gradient.</param>
/// <param name="Runs">SGD runs.</param>
/// <param name="OptimumLoss">min_z L(z) over the k-subsets.</param>
/// <param name="Seconds">Wall time of the cell.</param>
/// <param name="Noise">The perturbation noise ("gumbel" or "sog").</param>
/// <param name="AimleTrajectory">AIMLE: lambda, beta and the running non-zero rate after each backward pass of the cosine
/// study (the warm-up passes, then the measured one), mean ± SE over seeds; null for the other methods.</param>
public sealed record ImleGradientsCellResult(int N, int K, long States, GradientMethod Method, IReadOnlyList<double> Lambdas,
    IReadOnlyList<MeanSe> Cosine, int Seeds, MeanSe? AimleLambda, MeanSe TrueGradientNorm, IReadOnlyList<MeanSe> Gap,
    IReadOnlyList<MeanSe> ExactGap, int Runs, double OptimumLoss, double Seconds, string Noise = "sog",
    AimleTrajectory? AimleTrajectory = null)
{
    /// <summary>The best (highest mean cosine) row: (lambda, mean ± se); lambda NaN for lambda-free methods.</summary>
    public (double Lambda, MeanSe Cosine) Best => Enumerable.Range(0, Cosine.Count)
        .Select(l => (Lambdas.Count > 0 ? Lambdas[l] : double.NaN, Cosine[l])).MaxBy(x => x.Item2.Mean);
}

/// <summary>AIMLE's adaptive state after each backward pass at the same theta (pass 1 .. warm-up + 1), mean ± SE over seeds.</summary>
/// <param name="Lambda">The lambda each pass used.</param>
/// <param name="Beta">beta after the pass's update.</param>
/// <param name="NonZeroRate">The running mean of the non-zero gradient entries per sample after the pass.</param>
/// <param name="Cosine">The cosine of the pass's estimate to the exact gradient (the last pass's is the cell's result).</param>
public sealed record AimleTrajectory(IReadOnlyList<MeanSe> Lambda, IReadOnlyList<MeanSe> Beta, IReadOnlyList<MeanSe> NonZeroRate,
    IReadOnlyList<MeanSe>? Cosine = null);

/// <summary>
/// AIMLE's synthetic gradient study (Minervini, Franceschi, Niepert, AAAI 2023, "Adaptive Perturbation-Based Gradient
/// Estimation for Discrete Latent Variable Models", section 5.1, Figure 2 and the optimisation curves): top-k with the
/// loss L(z) = ||z - b||^2; the exact expected loss and gradient under p_theta(z) ∝ exp(&lt;z, theta&gt;) over all k-subsets
/// (<see cref="KSubsetFamily"/>); estimators from the library (<see cref="TopKGradientEstimator"/>).
/// <para>Cosine study: per seed i, theta ~ N(0, I_n) and b = |N(0, I_n)| from generator Seed + i; the estimate with S
/// samples, its noise from generator 1 000 000 + 10 007 Seed + i, against the exact gradient; I-MLE at every lambda of the
/// grid, AIMLE after <see cref="ImleGradientsConfig.WarmupSteps"/> adapting backward passes at the same theta (as the
/// reference's gradient-cli.py).</para>
/// <para>Optimisation: theta_0 and b from generator Seed (seed 0 of the cosine study); SGD with momentum on the estimate
/// for SgdSteps steps, SgdRepeats runs (run r's noise from generator 2 000 000 + 10 007 Seed + 100 r), and on the exact
/// gradient; the exact optimality gap E_p[L](theta_t) - min_z L(z) at every step.</para>
/// <para>Every method of a grid draws the same noise streams (each cell is the study of one method); in the study as one
/// process of several methods, later methods had continued the first method's stream.</para>
/// </summary>
public static class ImleGradientsStudy
{
    /// <summary>theta ~ N(0, I_n), b = |N(0, I_n)| from generator <paramref name="seed"/> (float64).</summary>
    public static (double[] Theta, double[] B) Problem(int n, ulong seed)
    {
        var g = new Generator(seed);
        using var t = torch.randn(new long[] { n }, dtype: ScalarType.Float64, generator: g);
        using var b = torch.randn(new long[] { n }, dtype: ScalarType.Float64, generator: g).abs();
        return (t.data<double>().ToArray(), b.data<double>().ToArray());
    }

    /// <summary>One cell: the cosine study of the method and the optimisation curves of the method and the exact gradient.</summary>
    /// <param name="config">The cell's settings.</param>
    /// <param name="progress">Called with the units of work done so far (seeds, then SGD runs) and their total.</param>
    /// <param name="cancel">Checked between units of work.</param>
    public static ImleGradientsCellResult Run(ImleGradientsConfig config, Action<long, long>? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var sw = Stopwatch.StartNew();
        int n = config.N, k = config.K, seeds = config.Seeds;
        var m = config.Method;
        using var family = new KSubsetFamily(n, k);
        var est = new TopKGradientEstimator(family, NoiseOf(config));
        var lambdas = GradientMethods.UsesFixedLambda(m) ? config.Lambdas : Array.Empty<double>();
        bool aimle = m is GradientMethod.AimleForward or GradientMethod.AimleCentral;
        var cos = new double[Math.Max(1, lambdas.Count), seeds];
        var adapted = new double[seeds];
        int passes = config.WarmupSteps + 1;
        var trajectory = new[] { new double[passes, seeds], new double[passes, seeds], new double[passes, seeds], new double[passes, seeds] };   // lambda, beta, rate, cosine
        var norms = new double[seeds];
        long total = seeds + 2L * config.SgdRepeats, done = 0;
        for (int i = 0; i < seeds; i++)
        {
            cancel.ThrowIfCancellationRequested();
            var (theta, b) = Problem(n, config.Seed + (ulong)i);
            var exact = family.ExpectedLoss(theta, b).Gradient;
            norms[i] = Math.Sqrt(exact.Sum(x => x * x));
            var gen = new Generator(1_000_000UL + config.Seed * 10_007UL + (ulong)i);
            if (lambdas.Count > 0)
            {
                for (int l = 0; l < lambdas.Count; l++)
                    cos[l, i] = TopKGradientEstimator.Cosine(est.Estimate(m, theta, b, config.Samples, lambdas[l], null, gen), exact);
            }
            else if (aimle)
            {
                var target = new AdaptiveImleTarget(config.AimleTargetNonZeros, config.AimleStep, config.AimleInitialBeta);
                double[] g = Array.Empty<double>();
                for (int w = 0; w < passes; w++)
                {
                    g = est.Estimate(m, theta, b, config.Samples, 0, target, gen);     // the last pass is the measured one
                    (trajectory[0][w, i], trajectory[1][w, i], trajectory[2][w, i]) = (target.LastLambda, target.Beta, target.NonZeroRate);
                    trajectory[3][w, i] = TopKGradientEstimator.Cosine(g, exact);
                }
                cos[0, i] = TopKGradientEstimator.Cosine(g, exact);
                adapted[i] = target.LastLambda;
            }
            else
                cos[0, i] = TopKGradientEstimator.Cosine(est.Estimate(m, theta, b, config.Samples, 0, null, gen), exact);
            progress?.Invoke(++done, total);
        }
        var cosine = Enumerable.Range(0, cos.GetLength(0)).Select(l => MeanSe.Of(Row(cos, l))).ToArray();

        var (theta0, b0) = Problem(n, config.Seed);
        double optimum = family.MinimumLoss(b0);
        IReadOnlyList<MeanSe> Curves(GradientMethod method, int index)
        {
            var gap = new double[config.SgdRepeats, config.SgdSteps + 1];
            for (int r = 0; r < config.SgdRepeats; r++)
            {
                cancel.ThrowIfCancellationRequested();
                var gen = new Generator(2_000_000UL + config.Seed * 10_007UL + (ulong)(r * 100 + index));
                var target = new AdaptiveImleTarget(config.AimleTargetNonZeros, config.AimleStep, config.SgdAimleInitialBeta);
                var curve = Optimise(family, est, method, theta0, b0, optimum, config, target, gen);
                for (int t = 0; t <= config.SgdSteps; t++) gap[r, t] = curve[t];
                progress?.Invoke(++done, total);
            }
            return Enumerable.Range(0, config.SgdSteps + 1).Select(t => MeanSe.Of(Column(gap, t))).ToArray();
        }
        var gapOfMethod = Curves(m, 0);
        var gapOfExact = Curves(GradientMethod.Exact, 1);
        AimleTrajectory? path = null;
        if (aimle)
        {
            MeanSe[] Rows(double[,] x) => Enumerable.Range(0, passes).Select(w => MeanSe.Of(Row(x, w))).ToArray();
            path = new AimleTrajectory(Rows(trajectory[0]), Rows(trajectory[1]), Rows(trajectory[2]), Rows(trajectory[3]));
        }
        return new ImleGradientsCellResult(n, k, family.Count, m, lambdas, cosine, seeds, aimle ? MeanSe.Of(adapted) : null, MeanSe.Of(norms),
            gapOfMethod, gapOfExact, config.SgdRepeats, optimum, sw.Elapsed.TotalSeconds, NoiseKey(config.Noise), path);
    }

    /// <summary>The perturbation noise of a cell: Gumbel(0, 1), or Sum-of-Gamma(k, 10 terms).</summary>
    public static ImleNoise NoiseOf(ImleGradientsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.Noise == KSubsetNoise.Gumbel ? ImleNoise.Gumbel : ImleNoise.SumOfGamma(config.K);
    }

    /// <summary>The command-line word of a noise ("gumbel", "sog").</summary>
    public static string NoiseKey(KSubsetNoise noise) => new KSubsetNoiseNames().Format(noise);

    /// <summary>
    /// SGD with momentum (PyTorch's rule: v = mu v + g, theta -= lr v, v = g at the first step) on one method's estimates;
    /// returns the exact optimality gap before each step and after the last, [steps + 1].
    /// </summary>
    public static double[] Optimise(KSubsetFamily family, TopKGradientEstimator estimator, GradientMethod method, double[] theta0,
        double[] b, double optimum, ImleGradientsConfig config, AdaptiveImleTarget target, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(estimator);
        ArgumentNullException.ThrowIfNull(theta0);
        ArgumentNullException.ThrowIfNull(config);
        var theta = (double[])theta0.Clone();
        var v = new double[theta.Length];
        var gap = new double[config.SgdSteps + 1];
        for (int t = 0; t <= config.SgdSteps; t++)
        {
            gap[t] = family.ExpectedLoss(theta, b).Value - optimum;
            if (t == config.SgdSteps) break;
            var g = estimator.Estimate(method, theta, b, config.SgdSamples, config.SgdLambda, target, generator);
            for (int i = 0; i < theta.Length; i++)
            {
                v[i] = t == 0 ? g[i] : config.SgdMomentum * v[i] + g[i];
                theta[i] -= config.SgdLearningRate * v[i];
            }
        }
        return gap;
    }

    /// <summary>Row <paramref name="row"/> of a [rows, seeds] array.</summary>
    public static double[] Row(double[,] values, int row)
    {
        ArgumentNullException.ThrowIfNull(values);
        return Enumerable.Range(0, values.GetLength(1)).Select(j => values[row, j]).ToArray();
    }

    /// <summary>Column <paramref name="col"/> of a [runs, steps] array.</summary>
    public static double[] Column(double[,] values, int col)
    {
        ArgumentNullException.ThrowIfNull(values);
        return Enumerable.Range(0, values.GetLength(0)).Select(r => values[r, col]).ToArray();
    }
}
