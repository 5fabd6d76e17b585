using System.Globalization;
using DiscreteGrad.Experiments.KSubsetVae;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.ImleGradients;

/// <summary>How the fixed lambdas of I-MLE are spaced between --lambda-min and --lambda-max.</summary>
public enum LambdaSpacing
{
    /// <summary>Log-spaced, <see cref="ImleGradientsConfig.LambdasPerDecade"/> points per decade (lambda-min &gt; 0).</summary>
    Log,
    /// <summary>Evenly spaced, <see cref="ImleGradientsConfig.LambdaCount"/> points including both ends, as numpy's linspace
    /// (the reference's gradient-cli.py: linspace(0, 100, 1001)); lambda = 0 gives the all-zero estimate.</summary>
    Linear,
}

/// <summary>
/// Settings of one cell of the I-MLE gradient-quality study (<see cref="ImleGradientsStudy"/>): a perturbation noise, a
/// top-k case n x k and one estimator (the grid's three axes), the cosine study over <see cref="Seeds"/> random problems
/// and the SGD curves of the estimator and of the exact gradient.
/// </summary>
public sealed record ImleGradientsConfig : IValidatedConfig
{
    /// <summary>The top-k case "NxK" (axis; default 20x10 and 10x5, as in AIMLE's synthetic study).</summary>
    [Setting("cases", "Top-k cases NxK (2 <= N <= 24, 1 <= K < N).", Axis = true, AxisDefault = "20x10,10x5")]
    public string Case { get; init; } = "20x10";

    /// <summary>The estimator (axis; default: all of <see cref="GradientMethods.Estimators"/>).</summary>
    [Setting("methods", "Estimators.", Axis = true, Values = typeof(GradientMethodValues),
        AxisDefault = "imle-forward,imle-central,aimle-forward,aimle-central,ste,sfe-exact,sfe-pam,simple")]
    public GradientMethod Method { get; init; } = GradientMethod.ImleForward;

    /// <summary>
    /// Perturbation noise of the perturb-and-MAP estimators, input and target, at temperature 1 (axis; default both):
    /// Gumbel(0, 1), the reference's gradient-cli.py (its Sum-of-Gamma line is commented out), or Sum-of-Gamma(k, 10 terms).
    /// </summary>
    [Setting("noises", "Perturbation noise: gumbel (the reference's gradient study) or sog (Sum-of-Gamma(k, 10 terms)).", Axis = true,
        Values = typeof(KSubsetNoiseNames), AxisDefault = "gumbel,sog")]
    public KSubsetNoise Noise { get; init; } = KSubsetNoise.Gumbel;

    /// <summary>AIMLE: change of beta per backward pass (reference gradient study: 1e-3).</summary>
    [Setting("aimle-step", "AIMLE: change of beta per backward pass.", Min = 0, MinExclusive = true, Max = 1e3)]
    public double AimleStep { get; init; } = 1e-3;

    /// <summary>AIMLE: initial beta in the cosine study (reference: 0).</summary>
    [Setting("aimle-beta", "AIMLE: initial beta in the cosine study.", Min = 0, Max = 1e6)]
    public double AimleInitialBeta { get; init; }

    /// <summary>AIMLE: target number of non-zero gradient entries per sample (reference: 1).</summary>
    [Setting("aimle-target", "AIMLE: target number of non-zero gradient entries per sample.", Min = 0, Max = 1e6)]
    public double AimleTargetNonZeros { get; init; } = 1.0;

    /// <summary>Random problems (theta ~ N(0, I), b = |N(0, I)|) of the cosine study: seeds Seed, Seed + 1, ...</summary>
    [Setting("seeds", "Random problems (theta, b) of the cosine study.", Min = 1, Max = 100_000)]
    public int Seeds { get; init; } = 64;

    /// <summary>Spacing of the fixed lambdas of I-MLE: log (default) or linear (the reference's linspace).</summary>
    [Setting("lambda-spacing", "Spacing of the I-MLE lambdas: log (--lambdas-per-decade) or linear (--lambda-count points, as the reference).")]
    public LambdaSpacing LambdaSpacing { get; init; } = LambdaSpacing.Log;

    /// <summary>Smallest fixed lambda of I-MLE (&gt; 0 for the log grid; 0 allowed for the linear one).</summary>
    [Setting("lambda-min", "Smallest I-MLE lambda (> 0 for the log grid; 0 allowed for the linear one).", Min = 0, Max = 1e6)]
    public double LambdaMin { get; init; } = 1e-2;

    /// <summary>Largest fixed lambda of I-MLE (at least <see cref="LambdaMin"/>).</summary>
    [Setting("lambda-max", "Largest I-MLE lambda (at least --lambda-min).", Min = 0, MinExclusive = true, Max = 1e6)]
    public double LambdaMax { get; init; } = 1e2;

    /// <summary>Points per decade of the log lambda grid (default 4).</summary>
    [Setting("lambdas-per-decade", "Points per decade of the log lambda grid.", Min = 1, Max = 100)]
    public int LambdasPerDecade { get; init; } = 4;

    /// <summary>Points of the linear lambda grid, both ends included (reference: 1001 over [0, 100]).</summary>
    [Setting("lambda-count", "Points of the linear lambda grid, both ends included (the reference: 1001).", Min = 2, Max = 100_000)]
    public int LambdaCount { get; init; } = 1001;

    /// <summary>Samples S per gradient estimate in the cosine study (the reference figure uses 1000).</summary>
    [Setting("samples", "Samples S per gradient estimate (cosine study).", Min = 1, Max = 1_000_000)]
    public int Samples { get; init; } = 1000;

    /// <summary>AIMLE: backward passes at the same theta before the measured one, so lambda adapts (reference: 100).</summary>
    [Setting("warmup", "AIMLE adapting backward passes before the measured one.", Min = 0, Max = 1_000_000)]
    public int WarmupSteps { get; init; } = 100;

    /// <summary>SGD steps of the optimisation curves.</summary>
    [Setting("sgd-steps", "SGD steps of the optimisation curves.", Min = 1, Max = 1_000_000)]
    public int SgdSteps { get; init; } = 50;

    /// <summary>Independent runs of the optimisation curves (same theta_0 and b, fresh noise).</summary>
    [Setting("sgd-runs", "Runs of the optimisation curves.", Min = 1, Max = 100_000)]
    public int SgdRepeats { get; init; } = 20;

    /// <summary>SGD learning rate (the same for every method).</summary>
    [Setting("lr", "SGD learning rate (all methods).", Min = 0, MinExclusive = true, Max = 1e3)]
    public double SgdLearningRate { get; init; } = 0.5;

    /// <summary>SGD momentum in [0, 1) (reference: 0.9).</summary>
    [Setting("sgd-momentum", "SGD momentum, in [0, 1).", Min = 0, Max = 1)]
    public double SgdMomentum { get; init; } = 0.9;

    /// <summary>Fixed lambda of I-MLE in the optimisation curves.</summary>
    [Setting("sgd-lambda", "I-MLE fixed lambda in the optimisation curves.", Min = 0, MinExclusive = true, Max = 1e6)]
    public double SgdLambda { get; init; } = 1.0;

    /// <summary>AIMLE's initial beta in the optimisation curves (the reference starts from its grid-searched lambda).</summary>
    [Setting("sgd-aimle-beta", "AIMLE initial beta in the optimisation curves.", Min = 0, MinExclusive = true, Max = 1e6)]
    public double SgdAimleInitialBeta { get; init; } = 1.0;

    /// <summary>Samples per SGD step (reference: 1; the leave-one-out SFE uses max(2, S)).</summary>
    [Setting("sgd-samples", "Samples per SGD step.", Min = 1, Max = 1_000_000)]
    public int SgdSamples { get; init; } = 1;

    /// <summary>Base seed of every generator.</summary>
    [Setting("seed", "Base seed of every generator.", Min = 0, Max = int.MaxValue)]
    public ulong Seed { get; init; }

    /// <summary>n of <see cref="Case"/>.</summary>
    public int N => ParseCase(Case).N;

    /// <summary>k of <see cref="Case"/>.</summary>
    public int K => ParseCase(Case).K;

    /// <summary>
    /// The fixed lambdas of I-MLE. Log: LambdaMin 10^(i / LambdasPerDecade) for i = 0 .. floor(log10(LambdaMax / LambdaMin)
    /// LambdasPerDecade) (default: 17 points over [1e-2, 1e2]). Linear: LambdaMin + i (LambdaMax - LambdaMin) / (LambdaCount - 1)
    /// for i = 0 .. LambdaCount - 1, computed as numpy's linspace (the last point is LambdaMax exactly).
    /// </summary>
    public IReadOnlyList<double> Lambdas
    {
        get
        {
            if (LambdaSpacing == LambdaSpacing.Linear)
            {
                double step = (LambdaMax - LambdaMin) / (LambdaCount - 1);
                return Enumerable.Range(0, LambdaCount).Select(i => i == LambdaCount - 1 ? LambdaMax : LambdaMin + i * step).ToArray();
            }
            int count = (int)Math.Floor(Math.Log10(LambdaMax / LambdaMin) * LambdasPerDecade + 1e-9) + 1;
            return Enumerable.Range(0, count).Select(i => LambdaMin * Math.Pow(10, i / (double)LambdasPerDecade)).ToArray();
        }
    }

    /// <summary>"20x10" as (20, 10); throws <see cref="ArgumentException"/> naming <see cref="Case"/> when malformed or out of range.</summary>
    public static (int N, int K) ParseCase(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var nk = text.Split('x');
        if (nk.Length != 2 || !int.TryParse(nk[0], NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            || !int.TryParse(nk[1], NumberStyles.None, CultureInfo.InvariantCulture, out int k) || n < 2 || n > 24 || k < 1 || k >= n)
            throw new ArgumentException($"'{text}' is not NxK with 2 <= N <= 24 and 1 <= K < N (e.g. 20x10).", nameof(Case));
        if (KSubsetFamily.Binomial(n, k) > KSubsetFamily.MaxStates)
            throw new ArgumentException($"C({n}, {k}) exceeds {KSubsetFamily.MaxStates} states.", nameof(Case));
        return (n, k);
    }

    /// <summary>Checks the case, --lambda-min &gt; 0 for the log grid, --lambda-max &gt;= --lambda-min and a momentum below 1.</summary>
    public void Validate()
    {
        ParseCase(Case);
        if (LambdaSpacing == LambdaSpacing.Log && !(LambdaMin > 0))
            throw new ArgumentException($"must be > 0 with --lambda-spacing log (got {LambdaMin.ToString(CultureInfo.InvariantCulture)}).", nameof(LambdaMin));
        if (LambdaMax < LambdaMin)
            throw new ArgumentException($"must be >= --lambda-min = {LambdaMin.ToString(CultureInfo.InvariantCulture)} (got {LambdaMax.ToString(CultureInfo.InvariantCulture)}).", nameof(LambdaMax));
        if (SgdMomentum >= 1) throw new ArgumentException($"must be < 1 (got {SgdMomentum.ToString(CultureInfo.InvariantCulture)}).", nameof(SgdMomentum));
    }
}

/// <summary>The words of a method setting: the keys of <see cref="GradientMethods.Estimators"/> (the exact gradient is no estimator).</summary>
public sealed class GradientMethodValues : ISettingValues
{
    /// <inheritdoc />
    public IReadOnlyList<string> Allowed { get; } = GradientMethods.Estimators.Select(GradientMethods.Key).ToArray();

    /// <inheritdoc />
    public string Format(object value) => GradientMethods.Key((GradientMethod)value);

    /// <inheritdoc />
    public bool TryParse(string text, out object value)
    {
        bool ok = GradientMethods.TryParse(text.Trim(), out var m) && m != GradientMethod.Exact;
        value = m;
        return ok;
    }
}
