using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Imle;

/// <summary>
/// Implicit Maximum Likelihood Estimation (I-MLE; Niepert, Minervini, Franceschi, NeurIPS 2021, "Implicit MLE:
/// Backpropagating Through Discrete Exponential Family Distributions") and its adaptive variant (AIMLE; Minervini,
/// Franceschi, Niepert, AAAI 2023): turns a batched MAP solver into a layer with a gradient.
/// <para>Forward, for theta [B, ...]: eps ~ noise, [B*S, ...] (S samples per instance); z = MAP(theta + T_in eps), where
/// "+" repeats theta_b over its S rows. The output is z [B*S, ...] or its mean [B, ...] (<see cref="SampleLayout"/>).</para>
/// <para>Backward, with the per-sample upstream gradient dz and the SAME eps (saved by the forward pass), for a maximising
/// solver:
/// forward difference: g = (MAP(theta + T_t eps) - MAP(theta - lambda dz + T_t eps)) / lambda, the first term being the forward
/// sample when T_t = T_in; central difference: g = (MAP(theta + lambda dz + T_t eps) - MAP(theta - lambda dz + T_t eps)) / (2 lambda).
/// For a minimising solver (<see cref="ImleOptions.Minimise"/>) the perturbation changes sign (theta' = theta + lambda dz) and
/// so does g. lambda and the 1/lambda factor come from <see cref="ImleOptions.Target"/> (fixed, or
/// AIMLE's lambda = beta ||theta|| / ||dz||). The gradient of theta_b is the mean of g over its S samples.</para>
/// <para>Each backward pass calls the solver once (forward difference, T_t = T_in) or twice (otherwise) on [B*S, ...].</para>
/// <para>A module (<c>nn.Module&lt;Tensor, Tensor&gt;</c>, usable in a <c>Sequential</c>): its target distribution is the
/// submodule <c>target</c>, so an <see cref="AdaptiveImleTarget"/>'s state (buffers <c>target.beta</c>,
/// <c>target.nonzero_rate</c>, <c>target.updates</c>) is in the layer's <c>state_dict</c> and moves with <c>to(device)</c>.
/// The layer has no parameters.</para>
/// </summary>
/// <example>
/// <code>
/// var imle = discrete.ImleLayer(new TopKSolver(k: 3), new ImleOptions { Noise = ImleNoise.SumOfGamma(k: 3), Target = new AdaptiveImleTarget(targetNonZeros: 6) });
/// var z = imle.forward(logits);            // [B, n] 0/1, exactly 3 ones per row
/// var loss = lossFn(z, y);
/// loss.backward();                          // logits.grad holds the AIMLE estimate
/// </code>
/// </example>
public sealed class ImleLayer : nn.Module<Tensor, Tensor>
{
    private readonly ImleBackward _rule;
    private readonly ImleTargetDistribution target;

    /// <summary>Creates the layer.</summary>
    /// <param name="solver">The batched MAP solver.</param>
    /// <param name="options">Noise, temperatures, samples, target, difference, direction, layout (validated here).</param>
    /// <param name="generator">Random source of the noise; null uses TorchSharp's default generator.</param>
    public ImleLayer(IMapSolver solver, ImleOptions? options = null, Generator? generator = null) : base(nameof(ImleLayer))
    {
        ArgumentNullException.ThrowIfNull(solver);
        Options = options ?? new ImleOptions();
        Options.Validate();
        Solver = solver;
        Generator = generator;
        target = Options.Target;
        _rule = new ImleBackward(this);
        RegisterComponents();
    }

    /// <summary>The wrapped solver.</summary>
    public IMapSolver Solver { get; }
    /// <summary>The options.</summary>
    public ImleOptions Options { get; }
    /// <summary>Random source of the noise.</summary>
    public Generator? Generator { get; set; }

    /// <summary>The target distribution (the submodule <c>target</c>; the same instance as <see cref="Options"/>.Target).</summary>
    public ImleTargetDistribution Target => target;

    /// <summary>Samples z = MAP(theta + T_in eps), eps drawn from <see cref="Options"/>.Noise, with the I-MLE gradient attached.</summary>
    /// <param name="theta">Weights [B, ...] (the solver's input shape for B instances).</param>
    /// <returns>z [B*S, ...] (<see cref="SampleLayout.Stacked"/>) or the mean over samples [B, ...] (<see cref="SampleLayout.Mean"/>).</returns>
    public override Tensor forward(Tensor theta) => forward(theta, null);

    /// <summary>Samples z = MAP(theta + T_in eps) with the I-MLE gradient attached, optionally with pinned noise.</summary>
    /// <param name="theta">Weights [B, ...] (the solver's input shape for B instances).</param>
    /// <param name="noise">Pinned unscaled noise eps [B*S, ...] (row b*S + s); null draws it from <see cref="Options"/>.Noise.</param>
    /// <returns>z [B*S, ...] (<see cref="SampleLayout.Stacked"/>) or the mean over samples [B, ...] (<see cref="SampleLayout.Mean"/>).</returns>
    public Tensor forward(Tensor theta, Tensor? noise)
    {
        PerturbAndMap.CheckTheta(theta);
        var o = Options;
        using var scope = torch.NewDisposeScope();
        var eps = PerturbAndMap.Noise(theta, o.Samples, o.Noise, Generator, noise);
        var output = PerturbAndMapFunction.apply(theta, eps, o.InputTemperature, o.Samples, o.Layout, Solver, (IPerturbAndMapBackward)_rule)[0];
        return scope.MoveToOuter(output);
    }

    private sealed class ImleBackward : IPerturbAndMapBackward
    {
        private readonly ImleLayer _layer;
        public ImleBackward(ImleLayer layer) => _layer = layer;

        public Tensor Backward(Tensor theta, Tensor noise, Tensor weights, Tensor z, Tensor dz)
        {
            var o = _layer.Options;
            int samples = o.Samples;
            long batch = theta.shape[0];
            double sign = o.Minimise ? -1.0 : 1.0;
            var target = _layer.target;
            double lambda = target.ComputeLambda(theta, dz);
            if (!(lambda >= 0) || double.IsInfinity(lambda))
                throw new InvalidOperationException($"{target.GetType().Name}.ComputeLambda must return a finite lambda >= 0 (got {lambda}).");
            var thetaRep = PerturbAndMap.Repeat(theta, samples);
            // theta_rep + T_t eps + c dz: one tensor operation from the forward pass's solver input when T_t = T_in.
            Tensor Perturbed(double c) => o.TargetTemperature == o.InputTemperature ? torch.add(weights, dz, alpha: c)
                : o.TargetTemperature == 0 ? torch.add(thetaRep, dz, alpha: c)
                : torch.add(thetaRep, noise, alpha: o.TargetTemperature).add_(dz, alpha: c);
            Tensor difference;
            if (lambda == 0)
                difference = torch.zeros_like(z);
            else if (o.Difference == FiniteDifference.Forward)
            {
                // Maximising: z(theta + T_t eps) - z(theta - lambda dz + T_t eps); minimising: the negation, with theta + lambda dz.
                var zBase = o.TargetTemperature == o.InputTemperature ? z
                    : PerturbAndMap.Solve(_layer.Solver, o.TargetTemperature == 0 ? thetaRep : torch.add(thetaRep, noise, alpha: o.TargetTemperature));
                var zTarget = PerturbAndMap.Solve(_layer.Solver, Perturbed(-sign * lambda));
                difference = o.Minimise ? zTarget - zBase : zBase - zTarget;
            }
            else
            {
                var zPlus = PerturbAndMap.Solve(_layer.Solver, Perturbed(sign * lambda));
                var zMinus = PerturbAndMap.Solve(_layer.Solver, Perturbed(-sign * lambda));
                difference = (o.Minimise ? zMinus - zPlus : zPlus - zMinus).mul_(0.5);
            }
            var split = PerturbAndMap.Split(difference, batch, samples);
            var gradient = target.Process(split, lambda)
                ?? throw new InvalidOperationException($"{target.GetType().Name}.Process returned null.");
            if (!gradient.shape.SequenceEqual(split.shape))
                throw new InvalidOperationException(
                    $"{target.GetType().Name}.Process must return the shape of the differences [{string.Join(", ", split.shape)}] (got [{string.Join(", ", gradient.shape)}]).");
            return samples == 1 ? gradient.squeeze(1) : gradient.mean(new long[] { 1 });
        }
    }
}
