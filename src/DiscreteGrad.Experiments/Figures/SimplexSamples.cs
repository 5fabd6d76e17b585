using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.Runner;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.Figures;

/// <summary>One panel of the simplex figure: a temperature and a Gumbel scale.</summary>
/// <param name="Tau">Gumbel-softmax temperature, &gt; 0.</param>
/// <param name="Beta">Gumbel scale, &gt;= 0.</param>
/// <param name="Row">"tau" for the tau-annealing row, "beta" for the beta-increase row.</param>
public sealed record SimplexSetting(double Tau, double Beta, string Row);

/// <summary>
/// Settings of the simplex figure of the DCCG paper (Figure 5): Gumbel-softmax samples softmax((theta + g) / tau),
/// g ~ Gumbel(0, beta), for 3 categories, under tau annealing (beta fixed) and under beta increase (tau fixed). One cell
/// draws every panel.
/// </summary>
public sealed record SimplexConfig : IValidatedConfig
{
    /// <summary>Logits theta (the paper: (2, 0.5, 1)).</summary>
    [Setting("theta", "The 3 logits theta.", Min = -1e6, Max = 1e6)]
    public double[] Theta { get; init; } = { 2.0, 0.5, 1.0 };

    /// <summary>Temperatures of the top row (tau annealing), in the order drawn.</summary>
    [Setting("taus", "Temperatures of the tau-annealing row.", Min = 0, MinExclusive = true, Max = 1e6)]
    public double[] Taus { get; init; } = { 10.0, 2.0, 1.0, 0.5, 0.1 };

    /// <summary>Gumbel scale of the top row.</summary>
    [Setting("top-beta", "Gumbel scale of the tau-annealing row.", Min = 0, Max = 1e6)]
    public double TopBeta { get; init; } = 1.0;

    /// <summary>Gumbel scales of the bottom row (beta increase), in the order drawn.</summary>
    [Setting("betas", "Gumbel scales of the beta-increase row.", Min = 0, Max = 1e6)]
    public double[] Betas { get; init; } = { 0.0, 0.5, 1.0, 2.0, 8.0 };

    /// <summary>Temperature of the bottom row.</summary>
    [Setting("bottom-tau", "Temperature of the beta-increase row.", Min = 0, MinExclusive = true, Max = 1e6)]
    public double BottomTau { get; init; } = 1.0;

    /// <summary>Samples per panel.</summary>
    [Setting("samples", "Samples per panel.", Min = 1, Max = 1_000_000)]
    public int Samples { get; init; } = 2000;

    /// <summary>A sample is "near a corner" when its largest probability exceeds this (in [1/3, 1)).</summary>
    [Setting("threshold", "A sample is near a corner when its largest probability exceeds this.", Min = 1.0 / 3, Max = 0.999999)]
    public double CornerThreshold { get; init; } = 0.9;

    /// <summary>Seed: every panel draws from a fresh generator with this seed, so all panels share the same standard Gumbel
    /// draws (the panels differ only by tau and beta).</summary>
    [Setting("seed", "Seed of the random generator.", Min = 0, Max = int.MaxValue)]
    public ulong Seed { get; init; }

    /// <summary>The panels: the top row (taus at <see cref="TopBeta"/>), then the bottom row (betas at <see cref="BottomTau"/>).</summary>
    public IReadOnlyList<SimplexSetting> Settings()
        => Taus.Select(t => new SimplexSetting(t, TopBeta, "tau")).Concat(Betas.Select(b => new SimplexSetting(BottomTau, b, "beta"))).ToArray();

    /// <summary>Checks what the settings' ranges do not: exactly 3 logits, taus and betas each listed once.</summary>
    public void Validate()
    {
        if (Theta is null || Theta.Length != 3) throw new ArgumentException($"must list exactly 3 logits (got {Theta?.Length ?? 0}).", nameof(Theta));
        FigureOutput.CheckList(Taus, nameof(Taus));
        FigureOutput.CheckList(Betas, nameof(Betas));
    }
}

/// <summary>The numbers that summarise one panel (what its report row shows).</summary>
/// <param name="Setting">Temperature and scale.</param>
/// <param name="NearCornerFraction">Fraction of samples whose largest probability exceeds the threshold.</param>
/// <param name="CornerShares">Among the near-corner samples, the fraction at each corner (NaN when there are none).</param>
/// <param name="ArgmaxShares">Over all samples, the fraction whose largest entry is each category.</param>
/// <param name="MeanMax">Mean over samples of the largest probability.</param>
public sealed record SimplexPanelSummary(SimplexSetting Setting, double NearCornerFraction, double[] CornerShares, double[] ArgmaxShares, double MeanMax)
{
    /// <summary>Total variation distance between <see cref="CornerShares"/> and the uniform distribution over the 3 corners
    /// (0: the near-corner samples are spread evenly; 2/3: all at one corner); NaN when there are no near-corner samples.</summary>
    public double CornerTvToUniform => 0.5 * CornerShares.Sum(c => Math.Abs(c - 1.0 / 3));
}

/// <summary>The samples of one panel and the numbers that summarise them.</summary>
/// <param name="Setting">Temperature and scale.</param>
/// <param name="Points">[n, 3] samples on the simplex.</param>
/// <param name="NearCornerFraction">Fraction of samples whose largest probability exceeds the threshold.</param>
/// <param name="CornerShares">Among the near-corner samples, the fraction at each corner (NaN when there are none).</param>
/// <param name="ArgmaxShares">Over all samples, the fraction whose largest entry is each category.</param>
/// <param name="MeanMax">Mean over samples of the largest probability.</param>
public sealed record SimplexPanel(SimplexSetting Setting, double[,] Points, double NearCornerFraction, double[] CornerShares,
    double[] ArgmaxShares, double MeanMax)
{
    /// <summary>The panel's numbers without its samples.</summary>
    public SimplexPanelSummary Summary => new(Setting, NearCornerFraction, CornerShares, ArgmaxShares, MeanMax);

    /// <summary>Total variation distance between <see cref="CornerShares"/> and the uniform distribution over the 3 corners
    /// (0: the near-corner samples are spread evenly; 2/3: all at one corner); NaN when there are no near-corner samples.</summary>
    public double CornerTvToUniform => Summary.CornerTvToUniform;
}

/// <summary>The Gumbel-softmax samples on the 3-simplex of the DCCG paper's Figure 5.</summary>
public static class SimplexSamples
{
    /// <summary>
    /// <paramref name="n"/> samples softmax((theta + g) / tau), g ~ Gumbel(0, beta), from
    /// <see cref="discrete.functional.gumbel_softmax"/> in float64; returns [n, K].
    /// </summary>
    public static double[,] Sample(IReadOnlyList<double> theta, double tau, double beta, int n, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(generator);
        Guard.AtLeast(n, 1, nameof(n));
        using var scope = torch.NewDisposeScope();
        var logits = torch.tensor(theta.ToArray(), dtype: ScalarType.Float64).unsqueeze(0).expand(n, theta.Count).contiguous();
        var y = discrete.functional.gumbel_softmax(logits, tau, hard: false, beta: beta, generator: generator);
        var flat = y.data<double>().ToArray();
        var result = new double[n, theta.Count];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(double));
        return result;
    }

    /// <summary>Draws and summarises every panel of the configuration.</summary>
    public static IReadOnlyList<SimplexPanel> Run(SimplexConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var panels = new List<SimplexPanel>();
        foreach (var s in config.Settings())
        {
            using var generator = new Generator(config.Seed);
            var points = Sample(config.Theta, s.Tau, s.Beta, config.Samples, generator);
            panels.Add(Summarize(s, points, config.CornerThreshold));
        }
        return panels;
    }

    /// <summary>Computes the near-corner fraction, the corner shares, the argmax shares and the mean largest probability.</summary>
    public static SimplexPanel Summarize(SimplexSetting setting, double[,] points, double threshold)
    {
        ArgumentNullException.ThrowIfNull(setting);
        ArgumentNullException.ThrowIfNull(points);
        int n = points.GetLength(0), k = points.GetLength(1);
        var corner = new double[k];
        var argmax = new double[k];
        int near = 0;
        double sumMax = 0;
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            for (int j = 1; j < k; j++)
                if (points[i, j] > points[i, best]) best = j;
            argmax[best]++;
            sumMax += points[i, best];
            if (points[i, best] > threshold)
            {
                near++;
                corner[best]++;
            }
        }
        for (int j = 0; j < k; j++)
        {
            corner[j] = near == 0 ? double.NaN : corner[j] / near;
            argmax[j] /= n;
        }
        return new SimplexPanel(setting, points, (double)near / n, corner, argmax, sumMax / n);
    }

    /// <summary>
    /// Barycentric coordinates of a point p on the 3-simplex in the plane: category 1 at the top (0.5, sqrt(3)/2),
    /// category 2 at the bottom left (0, 0), category 3 at the bottom right (1, 0).
    /// </summary>
    public static (double X, double Y) ToPlane(double p1, double p2, double p3)
        => (0.5 * p1 + 0.0 * p2 + 1.0 * p3, Math.Sqrt(3) / 2 * p1);
}
