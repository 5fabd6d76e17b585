using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.L2x;

/// <summary>The reviews of one L2X run as tensors: tokens, the rating of the chosen aspect and, for the test reviews, its rationale.</summary>
public sealed class L2xData : IDisposable
{
    /// <summary>Generates the training and test reviews of <paramref name="config"/> (data seed, sizes, correlation) on <paramref name="device"/>.</summary>
    public L2xData(L2xConfig config, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Aspect = config.Aspect;
        TrainReviews = SyntheticBeerReviews.Generate(L2xSplit.Train, config.TrainReviews, config.Length, config.Correlation, config.DataSeed);
        TestReviews = SyntheticBeerReviews.Generate(L2xSplit.Test, config.TestReviews, config.Length, config.Correlation, config.DataSeed);
        device ??= CPU;
        (TrainTokens, TrainRatings, TrainRationale) = ToTensors(TrainReviews, config.Aspect, device);
        (TestTokens, TestRatings, TestRationale) = ToTensors(TestReviews, config.Aspect, device);
    }

    /// <summary>The rated aspect.</summary>
    public L2xAspect Aspect { get; }
    /// <summary>The generated training reviews.</summary>
    public SyntheticBeerReviews TrainReviews { get; }
    /// <summary>The generated test reviews.</summary>
    public SyntheticBeerReviews TestReviews { get; }
    /// <summary>Training tokens [N, L] (int64).</summary>
    public Tensor TrainTokens { get; }
    /// <summary>Training ratings [N] of the aspect (float32, in [0, 1]).</summary>
    public Tensor TrainRatings { get; }
    /// <summary>Training rationale [N, L] of the aspect (float32 0/1).</summary>
    public Tensor TrainRationale { get; }
    /// <summary>Test tokens [N, L].</summary>
    public Tensor TestTokens { get; }
    /// <summary>Test ratings [N].</summary>
    public Tensor TestRatings { get; }
    /// <summary>Test rationale [N, L] (float32 0/1): the positions of the aspect's sentence.</summary>
    public Tensor TestRationale { get; }

    private static (Tensor Tokens, Tensor Ratings, Tensor Rationale) ToTensors(SyntheticBeerReviews r, L2xAspect aspect, Device device)
    {
        var tokens = new long[r.Count * r.Length];
        var rationale = new float[r.Count * r.Length];
        var ratings = new float[r.Count];
        for (int i = 0; i < r.Count; i++)
        {
            ratings[i] = (float)r.Rating(i, aspect);
            for (int t = 0; t < r.Length; t++)
            {
                tokens[i * r.Length + t] = r.Token(i, t);
                rationale[i * r.Length + t] = r.InRationale(i, t, aspect) ? 1f : 0f;
            }
        }
        return (tensor(tokens, new long[] { r.Count, r.Length }).to(device), tensor(ratings).to(device),
            tensor(rationale, new long[] { r.Count, r.Length }).to(device));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        TrainTokens.Dispose(); TrainRatings.Dispose(); TrainRationale.Dispose();
        TestTokens.Dispose(); TestRatings.Dispose(); TestRationale.Dispose();
    }
}

/// <summary>The L2X evaluation metrics.</summary>
public static class L2xMetrics
{
    /// <summary>
    /// Subset precision, as the L2X papers report it: the mean over reviews of |selected ∩ rationale| / |selected|, the share
    /// of the selected tokens that lie inside the ground-truth rationale (in [0, 1]).
    /// </summary>
    /// <param name="selected">0/1 selections [B, L], at least one token per row.</param>
    /// <param name="rationale">0/1 rationale [B, L].</param>
    public static double SubsetPrecision(Tensor selected, Tensor rationale)
    {
        ArgumentNullException.ThrowIfNull(selected);
        ArgumentNullException.ThrowIfNull(rationale);
        if (selected.dim() != 2 || !selected.shape.SequenceEqual(rationale.shape))
            throw new ArgumentException($"selected and rationale must have the same shape [B, L] (got [{string.Join(", ", selected.shape)}] and [{string.Join(", ", rationale.shape)}]).", nameof(rationale));
        using var scope = NewDisposeScope();
        var s = selected.to(float64);
        var count = s.sum(1);
        if ((count <= 0).any().item<bool>())
            throw new ArgumentException("every row of selected must select at least one token.", nameof(selected));
        return ((s * rationale.to(float64)).sum(1) / count).mean().item<double>();
    }
}
