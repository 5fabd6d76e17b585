using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Imle;

/// <summary>
/// SIMPLE (Ahmed, Zeng, Niepert and Van den Broeck, "SIMPLE: A Gradient Estimator for k-Subset Sampling", ICLR 2023): a
/// k-subset layer over the last axis of theta [B, ..., n] whose forward pass is an exact sample z of
/// p_theta(z) ∝ exp(&lt;theta, z&gt;), |z| = k (<see cref="KSubsetDistribution.Sample"/>), and whose backward pass is that
/// of the exact marginals mu(theta) = d log Z_k / d theta (<see cref="KSubsetDistribution.Marginals"/>): the output is
/// the surrogate z + mu - sg(mu), so its value is z exactly and its gradient is
/// grad_theta = (d mu / d theta)^T dL/dz = Cov_p(z) dL/dz, the Hessian of log Z_k times the upstream gradient.
/// <para>Samples and layout as the perturb-and-MAP layers (<see cref="ImleLayer"/>): S samples per instance, stacked as
/// [B*S, ..., n] (row b*S + s) with the gradient of theta_b the MEAN over its S samples of the per-sample estimates, or
/// their mean [B, ..., n] (<see cref="SampleLayout.Mean"/>). No noise, no temperature, no lambda: the sampler is exact and
/// the gradient has no hyperparameter. When theta needs no gradient (or autograd is off) the marginals are not computed.</para>
/// <para>A module (<c>nn.Module&lt;Tensor, Tensor&gt;</c>, usable in a <c>Sequential</c>) without parameters or state;
/// created by <see cref="discrete.SimpleKSubsetLayer"/>; the functional form is <see cref="discrete.functional.simple_k_subset"/>.</para>
/// </summary>
/// <example>
/// <code>
/// var simple = discrete.SimpleKSubsetLayer(k: 3, samples: 10);
/// var z = simple.forward(logits);          // [B*10, n] 0/1, exactly 3 ones per row, exact samples
/// lossFn(z, y).backward();                 // logits.grad = mean over samples of Cov_p(z) dL/dz
/// </code>
/// </example>
public sealed class SimpleKSubsetLayer : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the layer.</summary>
    /// <param name="k">Subset size k &gt;= 1 (at most n, the size of theta's last axis).</param>
    /// <param name="samples">Samples S &gt;= 1 per instance.</param>
    /// <param name="layout">Output layout of the samples.</param>
    /// <param name="generator">Random source of the samples; null uses TorchSharp's default generator.</param>
    public SimpleKSubsetLayer(int k, int samples = 1, SampleLayout layout = SampleLayout.Stacked, Generator? generator = null)
        : base(nameof(SimpleKSubsetLayer))
    {
        Guard.AtLeast(k, 1, nameof(k));
        Guard.AtLeast(samples, 1, nameof(samples));
        if (!Enum.IsDefined(layout)) throw new ArgumentOutOfRangeException(nameof(layout), layout, "layout must be Stacked or Mean.");
        K = k;
        Samples = samples;
        Layout = layout;
        Generator = generator;
    }

    /// <summary>Subset size k.</summary>
    public int K { get; }
    /// <summary>Samples S per instance.</summary>
    public int Samples { get; }
    /// <summary>Output layout.</summary>
    public SampleLayout Layout { get; }
    /// <summary>Random source of the samples.</summary>
    public Generator? Generator { get; set; }

    /// <summary>Exact k-subset samples of theta [B, ..., n] with the SIMPLE gradient.</summary>
    /// <param name="theta">Logits [B, ..., n] (at least two axes).</param>
    /// <returns>z [B*S, ..., n] (<see cref="SampleLayout.Stacked"/>) or the mean over samples [B, ..., n] (<see cref="SampleLayout.Mean"/>).</returns>
    public override Tensor forward(Tensor theta) => forward(theta, null);

    /// <summary>Exact k-subset samples of theta [B, ..., n] with the SIMPLE gradient, optionally with pinned samples.</summary>
    /// <param name="theta">Logits [B, ..., n] (at least two axes).</param>
    /// <param name="sample">Pinned samples [B*S, ..., n] (row b*S + s), 0/1 with exactly k ones along the last axis; null draws them.</param>
    /// <returns>z [B*S, ..., n] (<see cref="SampleLayout.Stacked"/>) or the mean over samples [B, ..., n] (<see cref="SampleLayout.Mean"/>).</returns>
    public Tensor forward(Tensor theta, Tensor? sample)
    {
        KSubsetDistribution.Check(theta, K);
        if (theta.dim() < 2)
            throw new ArgumentException($"theta must have shape [B, ..., n] with at least two axes (got [{string.Join(", ", theta.shape)}]).", nameof(theta));
        return Run(theta, K, Samples, Layout, Generator, sample);
    }

    /// <summary>The layer's computation on checked arguments (theta [B, ..., n]).</summary>
    internal static Tensor Run(Tensor theta, int k, int samples, SampleLayout layout, Generator? generator, Tensor? sample)
    {
        using var scope = torch.NewDisposeScope();
        long batch = theta.shape[0];
        var stackedShape = theta.shape.ToArray();
        stackedShape[0] *= samples;
        var z = sample is null ? KSubsetDistribution.Sample(theta, k, samples, generator) : Pinned(sample, stackedShape, k, theta);
        Tensor output = layout == SampleLayout.Mean ? PerturbAndMap.Split(z, batch, samples).mean(new long[] { 1 }) : z;
        if (theta.requires_grad && torch.is_grad_enabled())
        {
            var mu = KSubsetDistribution.Marginals(theta, k);
            // mu - sg(mu) is exactly 0, so the value stays z; its gradient is that of mu. Stacked: each sample's row carries
            // 1/S of it, so theta_b receives the mean of its S per-sample estimates.
            if (layout == SampleLayout.Mean || samples == 1) output = output + (mu - mu.detach());
            else
            {
                var rep = PerturbAndMap.Repeat(mu, samples);
                using var count = ((double)samples).ToScalar();    // explicit: see KSubsetDistribution.SampleRows
                output = output + (rep - rep.detach()).div(count);
            }
        }
        return scope.MoveToOuter(output);
    }

    /// <summary>A pinned sample: the stacked shape, floating point, 0/1 with exactly k ones along the last axis; in theta's dtype and device.</summary>
    private static Tensor Pinned(Tensor sample, long[] shape, int k, Tensor theta)
    {
        if (!sample.shape.SequenceEqual(shape))
            throw new ArgumentException(
                $"sample must have the stacked shape [B*S, ..., n] = [{string.Join(", ", shape)}] (got [{string.Join(", ", sample.shape)}]).", nameof(sample));
        if (!sample.is_floating_point())
            throw new ArgumentException($"sample must be a floating-point tensor (got {sample.dtype}).", nameof(sample));
        using var _ = torch.no_grad();
        using var zero = 0.0.ToScalar();
        using var one = 1.0.ToScalar();
        using var ones = ((double)k).ToScalar();
        bool binary = sample.eq(zero).logical_or(sample.eq(one)).all().item<bool>();
        bool countK = binary && sample.sum(-1).eq(ones).all().item<bool>();
        if (!countK)
            throw new ArgumentException($"sample must be 0/1 with exactly k = {k} ones along its last axis.", nameof(sample));
        return sample.detach().to(theta.dtype, theta.device).clone();   // never an alias of the caller's tensor
    }
}
